package render

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// helmValues merges the user-supplied values of a release: values files,
// then inline values, then --set parameters, as helm install does (maps
// merge deeply, later wins). The chart's own values.yaml is coalesced
// under them by helm.ToRenderValues.
func (r *Renderer) helmValues(t *Target, opts *HelmOptions) (map[string]any, error) {
	base := map[string]any{}
	for _, name := range opts.ValueFiles {
		f, err := r.fs.Rel(name)
		if err != nil {
			return nil, errorf(name, 0, "values file is outside the repository")
		}
		// Values files are often shared by several targets: read once.
		// Their parsed form is not shared, because helm coalesces values
		// in place.
		data, err := r.files.readFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, errorf(f, 0, "values file does not exist")
			}
			return nil, errorf(f, 0, "read values file: %v", unwrapPathErr(err))
		}
		v, err := helm.ReadValues(bytes.TrimPrefix(data, utf8BOM))
		if err != nil {
			if e := yamlLineError(f, 0, err); e != nil {
				return nil, e
			}
			return nil, errorf(f, 0, "invalid values file: %v", err)
		}
		base = mergeValues(base, v)
	}
	for _, iv := range opts.Values {
		v, err := inlineValues(iv)
		if err != nil {
			return nil, err
		}
		base = mergeValues(base, v)
	}
	file, line := t.Path, 0
	if t.Via != nil {
		file, line = t.Via.File, t.Via.Line
	}
	for _, s := range opts.Set {
		if err := helm.ParseInto(s, base); err != nil {
			return nil, errorf(file, line, "helm parameter %q: %v", s, err)
		}
	}
	return base, nil
}

// inlineValues decodes inline values the way helm reads a values file, so
// that numbers and strings get the same types.
func inlineValues(iv InlineValues) (map[string]any, error) {
	n := iv.Node
	if n == nil {
		return map[string]any{}, nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	var data []byte
	lineOffset := -1 // lines of re-encoded values do not match the file
	switch {
	case n.Kind == yaml.MappingNode:
		out, err := yaml.Marshal(deepCopy(n))
		if err != nil {
			return nil, errorf(iv.File, n.Line, "inline values: %v", err)
		}
		data = out
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "!!null"):
		data = []byte(n.Value)
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			lineOffset = n.Line
		}
	default:
		return nil, errorf(iv.File, n.Line, "inline values must be a mapping")
	}
	v, err := helm.ReadValues(data)
	if err != nil {
		if lineOffset >= 0 {
			if e := yamlLineError(iv.File, lineOffset, err); e != nil {
				return nil, e
			}
		}
		return nil, errorf(iv.File, n.Line, "invalid inline values: %v", err)
	}
	return v, nil
}

// mergeValues merges b into a copy of a: maps merge deeply, anything else in
// b replaces what a has. It is the merge helm install applies to -f files.
func mergeValues(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if om, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// validateSchemas checks values against the values.schema.json of the
// chart and of each subchart, as helm install does, except that a schema
// may not refer to anything outside itself: Helm's own validator fetches
// http(s) references and reads file:// references from the local disk.
func validateSchemas(c *helm.Chart, vals map[string]any, ix chartIndex) error {
	if schema := c.Schema(); schema != nil {
		if err := validateSchema(schema, vals); err != nil {
			file := ""
			if t := ix.tree(c); t != nil {
				file = t.dir
				if !t.archive {
					file = path.Join(t.dir, "values.schema.json")
				}
			}
			var bad badSchemaError
			if errors.As(err, &bad) {
				return errorf(file, 0, "cannot use values.schema.json: %v", bad.err)
			}
			return errorf(file, 0, "values do not match the chart's schema: %v", err)
		}
	}
	for _, sub := range c.Dependencies() {
		sv, ok := vals[sub.Name()].(map[string]any)
		if !ok {
			continue
		}
		if err := validateSchemas(sub, sv, ix); err != nil {
			return err
		}
	}
	return nil
}

// noLoader refuses every schema reference the schema does not contain.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema reference %s refused: kubeharden never reads or downloads referenced schemas", url)
}

// badSchemaError is a schema that cannot be used, as opposed to values
// that do not match it.
type badSchemaError struct{ err error }

func (e badSchemaError) Error() string { return e.err.Error() }

// validateSchema validates values against one values.schema.json.
func validateSchema(schemaJSON []byte, vals map[string]any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = badSchemaError{fmt.Errorf("schema validation failed: %v", p)}
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return badSchemaError{fmt.Errorf("invalid JSON: %w", err)}
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noLoader{})
	if err := comp.AddResource("file:///values.schema.json", doc); err != nil {
		return badSchemaError{err}
	}
	sch, err := comp.Compile("file:///values.schema.json")
	if err != nil {
		return badSchemaError{err}
	}
	if len(vals) == 0 {
		vals = map[string]any{} // as Helm's Values.AsMap
	}
	if err := sch.Validate(vals); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "jsonschema validation failed with 'file:///values.schema.json#'\n"))
	}
	return nil
}

// copyValues copies the maps and lists of a values tree, so that helm,
// which coalesces values in place, cannot change the original.
func copyValues(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	if m, ok := helm.AsMap(v); ok {
		return copyValues(m)
	}
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
