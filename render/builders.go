package render

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// Charging the functions that build or repeat, by their actual arguments.
//
// The guard's loop and template charges (guard.go) see the text a
// template writes, not what a function call makes: until (int
// .Values.count) allocates its list in one call, a printf "%s%s" $s $s
// in a 31-step loop doubles a string to 2 GiB in 31 charges of a few
// bytes, and {{ $.Values.big }} in a loop writes a megabyte an iteration.
// So the functions that build (builderFuncs) are called through lookup,
// as the deterministic stand-ins are (determinism.go), and every action
// that prints passes what it prints through lookup too. The call
//
//	F a b c            (or x | F a b)
//
// becomes, on the same line,
//
//	list a b c | set (lookup "call.kubeharden.invalid/v1" "N" "" "box") "a" | typeOf | lookup "call.kubeharden.invalid/v1" "N" "" | pluck "v" | first
//
// The first lookup returns a map of ours (lookup returns the object's
// own map), into which set puts the arguments as they are, typed; the
// second runs our code (callClient.Get), which refuses the call when the
// bytes its arguments say it would make pass the remaining budget,
// calls Helm's own function (helm.TemplateFunc) converting the
// arguments as text/template does, charges the result's size and hands
// it back as itself. An action {{ X }} becomes {{ X | list | set ... }}
// with the print site's number, whose Get charges the size of what is
// printed and returns it unchanged. Every one of these is also a point
// where the guard sees the context done.
//
// Unlike the JSON of the stand-ins, the mailbox keeps types: printf "%.2f"
// of a float stays a float. What differs from the engine: a numeric
// literal written as 1e3 where a function takes an int arrives as a
// float (list takes it as a constant of its own kind) and is refused as
// text/template would refuse a float variable there.

// callAPIVersion is the apiVersion of the lookups that run builders and
// charge printed actions.
const callAPIVersion = "call.kubeharden.invalid/v1"

// mailboxName is the name of the lookup that returns the mailbox.
const mailboxName = "box"

// printFunc names the sites of printing actions.
const printFunc = "(print)"

// builderFuncs are the functions whose result may be much larger than
// their arguments, with the bytes a call would make at most, given its
// arguments converted to the function's parameter types. -1 means more
// than max (a limit the estimate may stop at).
var builderFuncs = map[string]func(a []reflect.Value, max int64) int64{
	"until": func(a []reflect.Value, _ int64) int64 { return abs(a[0].Int()) * 8 },
	"untilStep": func(a []reflect.Value, _ int64) int64 {
		return abs(a[1].Int()-a[0].Int()) / max(abs(a[2].Int()), 1) * 8
	},
	"seq": func(a []reflect.Value, _ int64) int64 {
		if len(a) == 0 {
			return 0
		}
		lo, hi, step := int64(1), a[0].Int(), int64(1)
		if len(a) >= 2 {
			lo, hi = a[0].Int(), a[len(a)-1].Int()
		}
		if len(a) == 3 {
			step = max(abs(a[1].Int()), 1)
		}
		return (abs(hi-lo)/step + 1) * 21 // digits and a space a number
	},
	"repeat": func(a []reflect.Value, _ int64) int64 { return abs(a[0].Int()) * int64(a[1].Len()) },
	"indent": indentSize,
	"nindent": func(a []reflect.Value, m int64) int64 {
		return indentSize(a, m) + 1
	},
	"replace": func(a []reflect.Value, _ int64) int64 {
		old, new, src := a[0].String(), a[1].String(), a[2].String()
		if old == "" {
			return int64(len(src)) + int64(len(src)+1)*int64(len(new))
		}
		return int64(len(src)) + int64(strings.Count(src, old))*max(int64(len(new)-len(old)), 0)
	},
	"printf": func(a []reflect.Value, m int64) int64 {
		format := a[0].String()
		n := int64(len(format)) + sizeOfArgs(a[1:], m)
		// Widths and precisions, written in the format or taken from
		// the arguments (%*d).
		for _, w := range formatNumbers(format) {
			n += w
		}
		if strings.Contains(format, "*") {
			for _, v := range a[1:] {
				if i, ok := intOf(v); ok {
					n += abs(i)
				}
			}
		}
		return n
	},
	"print": sizeOfArgs,
	"cat":   sizeOfArgs,
	"join": func(a []reflect.Value, m int64) int64 {
		n := sizeOf(a[1], m)
		if k := lenOf(a[1]); k > 0 {
			n += int64(k) * int64(a[0].Len())
		}
		return n
	},
	"toYaml":       sizeOfArgs,
	"toJson":       sizeOfArgs,
	"toPrettyJson": sizeOfArgs,
	"toRawJson":    sizeOfArgs,
	"b64enc":       func(a []reflect.Value, _ int64) int64 { return int64(a[0].Len())/3*4 + 4 },
	"b32enc":       func(a []reflect.Value, _ int64) int64 { return int64(a[0].Len())/5*8 + 8 },
}

func indentSize(a []reflect.Value, _ int64) int64 {
	v := a[1].String()
	return int64(len(v)) + abs(a[0].Int())*int64(strings.Count(v, "\n")+1)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// formatNumbers returns the numbers written in a printf format's verbs
// (widths, precisions, argument indexes).
func formatNumbers(format string) []int64 {
	var ns []int64
	for i := 0; i < len(format); i++ {
		if format[i] < '0' || format[i] > '9' {
			continue
		}
		var n int64
		for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
			if n < 1<<40 {
				n = n*10 + int64(format[i]-'0')
			}
		}
		ns = append(ns, n)
	}
	return ns
}

func intOf(v reflect.Value) (int64, bool) {
	v = indirect(v)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	}
	return 0, false
}

func lenOf(v reflect.Value) int {
	v = indirect(v)
	switch v.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
		return v.Len()
	}
	return 0
}

func indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		v = v.Elem()
	}
	return v
}

func sizeOfArgs(a []reflect.Value, m int64) int64 {
	var n int64
	for _, v := range a {
		n += sizeOf(v, m-n) + 1
		if n > m {
			return -1
		}
	}
	return n
}

// sizeOf estimates the bytes v takes when printed, marshalled to JSON
// or YAML: its strings, 24 for a scalar, and for every element of a map
// or list a separator and its indentation. It stops, returning more
// than max, once the estimate passes max, so that a huge or cyclic
// value costs no more than the budget to measure.
func sizeOf(v reflect.Value, max int64) int64 {
	var walk func(v reflect.Value, depth int64) int64
	walk = func(v reflect.Value, depth int64) int64 {
		v = indirect(v)
		if !v.IsValid() {
			return 8
		}
		switch v.Kind() {
		case reflect.String:
			return int64(v.Len())
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return int64(v.Len()) * 4 // printed as numbers, or base64
			}
			var n int64
			for i := range v.Len() {
				n += walk(v.Index(i), depth+1) + 2*depth + 4
				if n > max {
					return n
				}
			}
			return n + 2
		case reflect.Map:
			var n int64
			it := v.MapRange()
			for it.Next() {
				n += walk(it.Key(), depth+1) + walk(it.Value(), depth+1) + 2*depth + 4
				if n > max {
					return n
				}
			}
			return n + 2
		case reflect.Struct:
			var n int64
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					n += walk(v.Field(i), depth+1) + 2*depth + 4
					if n > max {
						return n
					}
				}
			}
			return n + 2
		}
		return 24
	}
	n := walk(v, 0)
	if n > max {
		return max + 1
	}
	return n
}

// resultSize is the bytes a function's result holds.
func resultSize(v reflect.Value, max int64) int64 {
	v = indirect(v)
	if v.IsValid() && v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Int {
		return int64(v.Len()) * 8
	}
	return sizeOf(v, max)
}

// callSite is one rewritten call of a builder, or one printing action.
type callSite struct {
	fn   string
	file string // root-relative template file
	line int
}

// callClient runs one call site for the guard g.
type callClient struct {
	dynamic.NamespaceableResourceInterface // nil: other methods are never called
	g                                      *helmGuard
	site                                   int
}

// Get returns the mailbox for name "box"; any other name (what typeOf
// says of the mailbox) runs the call with the arguments set in it.
func (c callClient) Get(_ context.Context, name string, _ metav1.GetOptions, _ ...string) (*unstructured.Unstructured, error) {
	g := c.g
	if name == mailboxName {
		box := &unstructured.Unstructured{Object: map[string]any{}}
		g.box = box.Object
		return box, nil
	}
	box := g.box
	g.box = nil
	args, _ := box["a"].([]any)
	s := g.calls[c.site]
	if s.fn == printFunc {
		if len(args) != 1 {
			return nil, fmt.Errorf("bad print site %d", c.site)
		}
		if err := g.charge(sizeOf(reflect.ValueOf(args[0]), g.remaining()), s.file, s.line, "printed value"); err != nil {
			return nil, err
		}
		return &unstructured.Unstructured{Object: map[string]any{"v": args[0]}}, nil
	}
	fn, ok := helm.TemplateFunc(s.fn)
	if !ok {
		return nil, fmt.Errorf("%s: not a template function", s.fn)
	}
	in, err := callArgs(s.fn, reflect.ValueOf(fn), args)
	if err != nil {
		return nil, err
	}
	if bound := builderFuncs[s.fn]; bound != nil {
		rem := g.remaining()
		if n := bound(in, rem); n < 0 || n > rem {
			about := ""
			if n >= 0 {
				about = fmt.Sprintf("about %d bytes, ", n)
			}
			what := "output limit"
			if g.run != nil && g.run.left() < g.limit-g.budget {
				what = "run's memory budget"
			}
			g.err = errorf(s.file, s.line, "%s would make %smore than the %d bytes left of the %s; refused", s.fn, about, max(rem, 0), what)
			return nil, g.err
		}
	}
	out := reflect.ValueOf(fn).Call(in)
	if len(out) == 2 && !out[1].IsNil() {
		return nil, fmt.Errorf("%s: %w", s.fn, out[1].Interface().(error))
	}
	if err := g.charge(resultSize(out[0], g.remaining()), s.file, s.line, s.fn); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: map[string]any{"v": out[0].Interface()}}, nil
}

var reflectValueType = reflect.TypeFor[reflect.Value]()

// callArgs converts args to the parameters of fn as text/template does
// for values that are not constants (validateType).
func callArgs(name string, fn reflect.Value, args []any) ([]reflect.Value, error) {
	t := fn.Type()
	n := t.NumIn()
	if t.IsVariadic() {
		if len(args) < n-1 {
			return nil, fmt.Errorf("wrong number of args for %s: want at least %d got %d", name, n-1, len(args))
		}
	} else if len(args) != n {
		return nil, fmt.Errorf("wrong number of args for %s: want %d got %d", name, n, len(args))
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		var typ reflect.Type
		if t.IsVariadic() && i >= n-1 {
			typ = t.In(n - 1).Elem()
		} else {
			typ = t.In(i)
		}
		v := reflect.ValueOf(a)
		switch {
		case !v.IsValid():
			switch typ.Kind() {
			case reflect.Chan, reflect.Func, reflect.Interface, reflect.Map, reflect.Pointer, reflect.Slice:
				v = reflect.Zero(typ)
			default:
				return nil, fmt.Errorf("%s: invalid value; expected %s", name, typ)
			}
		case typ == reflectValueType:
			v = reflect.ValueOf(v)
		case v.Type().AssignableTo(typ):
		case v.Kind() == reflect.Pointer && v.Type().Elem().AssignableTo(typ):
			if v.IsNil() {
				return nil, fmt.Errorf("%s: dereference of nil pointer of type %s", name, typ)
			}
			v = v.Elem()
		default:
			return nil, fmt.Errorf("%s: wrong type for value; expected %s; got %s", name, typ, v.Type())
		}
		in[i] = v
	}
	return in, nil
}
