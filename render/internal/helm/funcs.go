package helm

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

// The template functions Helm 3's engine gives templates are sprig's
// (sprig.TxtFuncMap, which Helm v3.21.4 uses at v3.3.0) and a few of
// Helm's own. The engine takes no function map from its caller; render
// reaches some of them through lookup (render/builders.go) and calls
// them here, so that what a template gets is what Helm would give it.

var sprigFuncs = sync.OnceValue(sprig.TxtFuncMap)

// helmFuncs are Helm's own functions that render calls, with Helm's
// semantics: marshalling errors give "" inside a template.
var helmFuncs = map[string]any{
	"toYaml": func(v any) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	},
	"toJson": func(v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	},
}

// TemplateFunc returns the function Helm's engine gives templates under
// name, for the functions whose work render bounds: text/template's
// print, printf and println, Helm's toYaml and toJson, and sprig's. It is a Go func value, to be called as
// text/template calls it; ok is false for a name it does not provide.
func TemplateFunc(name string) (fn any, ok bool) {
	if f, ok := helmFuncs[name]; ok {
		return f, true
	}
	switch name { // text/template's own
	case "print":
		return fmt.Sprint, true
	case "printf":
		return fmt.Sprintf, true
	case "println":
		return fmt.Sprintln, true
	}
	switch name {
	case "env", "expandenv", "include", "tpl", "required", "lookup", "fail":
		return nil, false // not sprig's in Helm, or late-bound to the engine
	}
	f, ok := sprigFuncs()[name]
	return f, ok
}
