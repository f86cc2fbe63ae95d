package githubtest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// description is a subset of GitHub's REST API description (OpenAPI
// 3.0); testdata/README.md says where it comes from.
//
//go:embed testdata/api.github.com.subset.json
var description []byte

// docURL names the description as one JSON Schema resource, so that
// every schema in it is compiled by JSON pointer and its
// "#/components/..." references resolve inside the same document.
const docURL = "https://api.github.com/openapi.json"

// Spec is the API description turned into request and response
// validators. Schemas compile on first use.
type Spec struct {
	doc map[string]any
	ops []*Operation

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

// Operation is one method on one path template of the description.
type Operation struct {
	ID       string // operationId: "pulls/create-review"
	Method   string
	Template string // "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"

	re         *regexp.Regexp
	pathParams []string
	query      map[string]param
	ptr        string // JSON pointer of the operation object
	body       *mediaType
	bodyReq    bool
	responses  map[string]*mediaType // by status ("201", "default"); nil value: no content
}

type param struct {
	name     string
	required bool
	schema   string // JSON pointer
}

type mediaType struct {
	schema string // JSON pointer of the schema; "" for none
}

var (
	specOnce sync.Once
	specVal  *Spec
	specErr  error
)

// LoadSpec parses the embedded description once per process.
func LoadSpec() (*Spec, error) {
	specOnce.Do(func() { specVal, specErr = parseSpec(description) })
	return specVal, specErr
}

func parseSpec(data []byte) (*Spec, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse API description: %w", err)
	}
	doc = openAPIToJSONSchema(doc).(map[string]any)
	s := &Spec{doc: doc, schemas: map[string]*jsonschema.Schema{}}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, err
	}
	s.compiler = c

	paths, _ := doc["paths"].(map[string]any)
	for tmpl, item := range paths {
		item := item.(map[string]any)
		shared := s.params(pointer("paths", tmpl, "parameters"))
		for method, raw := range item {
			m := strings.ToUpper(method)
			if !slices.Contains([]string{"GET", "POST", "PATCH", "PUT", "DELETE"}, m) {
				continue
			}
			op, err := s.operation(tmpl, m, raw.(map[string]any), shared)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, tmpl, err)
			}
			s.ops = append(s.ops, op)
		}
	}
	// Literal segments win over parameters: /git/ref/{ref} before a
	// template that would also match.
	sort.Slice(s.ops, func(i, j int) bool {
		if len(s.ops[i].pathParams) != len(s.ops[j].pathParams) {
			return len(s.ops[i].pathParams) < len(s.ops[j].pathParams)
		}
		return s.ops[i].Template+s.ops[i].Method < s.ops[j].Template+s.ops[j].Method
	})
	return s, nil
}

// openAPIToJSONSchema rewrites the OpenAPI 3.0 dialect into JSON Schema
// 2020-12: {"nullable": true, ...} becomes {"anyOf": [{"type": "null"},
// {...}]}. GitHub's description uses oneOf between schemas that overlap
// (a validation error also matches its loosely typed "repository rule
// violation"), meaning "one of these shapes", so oneOf is read as
// anyOf. Other OpenAPI keywords (example, discriminator, readOnly,
// externalDocs) are unknown to JSON Schema and ignored by it.
func openAPIToJSONSchema(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = openAPIToJSONSchema(e)
		}
		if one, ok := v["oneOf"].([]any); ok {
			if _, clash := v["anyOf"]; !clash {
				delete(v, "oneOf")
				v["anyOf"] = one
			}
		}
		if n, ok := v["nullable"].(bool); ok {
			delete(v, "nullable")
			if n {
				return map[string]any{"anyOf": []any{map[string]any{"type": "null"}, v}}
			}
		}
		return v
	case []any:
		for i, e := range v {
			v[i] = openAPIToJSONSchema(e)
		}
	}
	return v
}

// pointer escapes JSON pointer tokens.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		t = strings.ReplaceAll(t, "~", "~0")
		t = strings.ReplaceAll(t, "/", "~1")
		b.WriteString("/" + t)
	}
	return b.String()
}

// resolve follows a chain of $ref from the value at ptr and returns the
// value and its own pointer.
func (s *Spec) resolve(ptr string) (any, string) {
	for range 10 {
		v := s.lookup(ptr)
		m, ok := v.(map[string]any)
		if !ok {
			return v, ptr
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, ptr
		}
		ptr = strings.TrimPrefix(ref, "#")
	}
	return nil, ptr
}

func (s *Spec) lookup(ptr string) any {
	var v any = s.doc
	if ptr == "" {
		return v
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			v = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// params reads a parameters list into its query parameters by name.
// listPtr is the pointer of the list; names are "in:name".
func (s *Spec) params(listPtr string) []param {
	list, _ := s.lookup(listPtr).([]any)
	var out []param
	for i := range list {
		m, ptr := s.resolve(listPtr + pointer(strconv.Itoa(i)))
		pm, _ := m.(map[string]any)
		if pm == nil {
			continue
		}
		name, _ := pm["name"].(string)
		in, _ := pm["in"].(string)
		req, _ := pm["required"].(bool)
		out = append(out, param{name: in + ":" + name, required: req, schema: ptr + "/schema"})
	}
	return out
}

func (s *Spec) operation(tmpl, method string, raw map[string]any, shared []param) (*Operation, error) {
	opPtr := pointer("paths", tmpl, strings.ToLower(method))
	op := &Operation{Method: method, Template: tmpl, ptr: opPtr, query: map[string]param{}, responses: map[string]*mediaType{}}
	op.ID, _ = raw["operationId"].(string)
	all := append(slices.Clone(shared), s.params(opPtr+pointer("parameters"))...)
	for _, p := range all {
		in, name, _ := strings.Cut(p.name, ":")
		if in == "query" {
			p.name = name
			op.query[name] = p
		}
	}
	// Path template to a regular expression; a parameter is one segment
	// except a trailing {ref} or {path}, which may hold slashes.
	var re strings.Builder
	re.WriteString("^")
	segs := strings.Split(strings.TrimPrefix(tmpl, "/"), "/")
	for i, seg := range segs {
		re.WriteString("/")
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := seg[1 : len(seg)-1]
			op.pathParams = append(op.pathParams, name)
			if i == len(segs)-1 && (name == "ref" || name == "path") {
				re.WriteString("(.+)")
			} else {
				re.WriteString("([^/]+)")
			}
			continue
		}
		re.WriteString(regexp.QuoteMeta(seg))
	}
	re.WriteString("$")
	op.re = regexp.MustCompile(re.String())

	if rb, ok := raw["requestBody"].(map[string]any); ok {
		op.bodyReq, _ = rb["required"].(bool)
		if content, ok := rb["content"].(map[string]any); ok {
			if _, ok := content["application/json"]; ok {
				op.body = &mediaType{schema: opPtr + pointer("requestBody", "content", "application/json", "schema")}
			}
		}
		if op.body == nil {
			return nil, fmt.Errorf("request body without application/json")
		}
	}
	responses, _ := raw["responses"].(map[string]any)
	for code := range responses {
		v, ptr := s.resolve(opPtr + pointer("responses", code))
		m, _ := v.(map[string]any)
		content, _ := m["content"].(map[string]any)
		if _, ok := content["application/json"]; !ok {
			op.responses[code] = nil
			continue
		}
		mt := &mediaType{}
		if _, ok := content["application/json"].(map[string]any)["schema"]; ok {
			mt.schema = ptr + pointer("content", "application/json", "schema")
		}
		op.responses[code] = mt
	}
	return op, nil
}

// schema compiles the schema at a JSON pointer of the description.
func (s *Spec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch, nil
	}
	frag := strings.NewReplacer("{", "%7B", "}", "%7D").Replace(ptr)
	sch, err := s.compiler.Compile(docURL + "#" + frag)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", ptr, err)
	}
	s.schemas[ptr] = sch
	return sch, nil
}

// Match finds the operation for a method and an escaped URL path, and
// the path parameters by name (unescaped).
func (s *Spec) Match(method, escapedPath string) (*Operation, map[string]string) {
	for _, op := range s.ops {
		if op.Method != method {
			continue
		}
		m := op.re.FindStringSubmatch(escapedPath)
		if m == nil {
			continue
		}
		vars := map[string]string{}
		for i, name := range op.pathParams {
			v, err := url.PathUnescape(m[i+1])
			if err != nil {
				return nil, nil
			}
			vars[name] = v
		}
		return op, vars
	}
	return nil, nil
}

// ValidateQuery checks that every query parameter is declared, appears
// once and matches its schema, and that required ones are present.
func (s *Spec) ValidateQuery(op *Operation, q url.Values) error {
	for name, vals := range q {
		p, ok := op.query[name]
		if !ok {
			return fmt.Errorf("%s: unknown query parameter %q", op.ID, name)
		}
		if len(vals) != 1 {
			return fmt.Errorf("%s: query parameter %q given %d times", op.ID, name, len(vals))
		}
		sch, err := s.schema(p.schema)
		if err != nil {
			return err
		}
		v := queryValue(s.lookup(p.schema), vals[0])
		if err := sch.Validate(v); err != nil {
			return fmt.Errorf("%s: query parameter %s=%q: %v", op.ID, name, vals[0], err)
		}
	}
	for name, p := range op.query {
		if p.required && !q.Has(name) {
			return fmt.Errorf("%s: missing required query parameter %q", op.ID, name)
		}
	}
	return nil
}

// queryValue converts a query string to the JSON type its schema names,
// so that "per_page=100" validates as an integer and "x=abc" does not.
func queryValue(schema any, s string) any {
	m, _ := schema.(map[string]any)
	switch m["type"] {
	case "integer", "number":
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return json.Number(strconv.FormatFloat(n, 'f', -1, 64))
		}
	case "boolean":
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return s
}

// ValidateBody checks a request body against the operation's
// requestBody: it must be JSON and valid for the schema, and — stricter
// than GitHub, which ignores them — an object body must not carry
// top-level properties the schema does not declare, so that a
// misspelled field fails the test instead of being silently dropped.
func (s *Spec) ValidateBody(op *Operation, body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		if op.bodyReq {
			return nil, fmt.Errorf("%s: request body required", op.ID)
		}
		return nil, nil
	}
	if op.body == nil {
		return nil, fmt.Errorf("%s: takes no request body, got %d bytes", op.ID, len(body))
	}
	v, err := decodeJSON(body)
	if err != nil {
		return nil, fmt.Errorf("%s: request body: %v", op.ID, err)
	}
	sch, err := s.schema(op.body.schema)
	if err != nil {
		return nil, err
	}
	if err := sch.Validate(v); err != nil {
		return nil, fmt.Errorf("%s: request body: %v", op.ID, err)
	}
	if obj, ok := v.(map[string]any); ok {
		schema, _ := s.resolve(op.body.schema)
		if props, ok := schema.(map[string]any)["properties"].(map[string]any); ok {
			for k := range obj {
				if _, ok := props[k]; !ok {
					return nil, fmt.Errorf("%s: request body: undeclared property %q", op.ID, k)
				}
			}
		}
	}
	return v, nil
}

// ValidateResponse checks a response the fake is about to send: its
// status must be declared by the operation and its body must match the
// schema declared for that status (or be empty when none is).
func (s *Spec) ValidateResponse(op *Operation, status int, body []byte) error {
	mt, ok := op.responses[strconv.Itoa(status)]
	if !ok {
		mt, ok = op.responses["default"]
	}
	if !ok {
		return fmt.Errorf("%s: response status %d is not declared", op.ID, status)
	}
	if mt == nil {
		if len(bytes.TrimSpace(body)) != 0 {
			return fmt.Errorf("%s: status %d declares no content, got %d bytes", op.ID, status, len(body))
		}
		return nil
	}
	v, err := decodeJSON(body)
	if err != nil {
		return fmt.Errorf("%s: response %d: %v", op.ID, status, err)
	}
	if mt.schema == "" {
		return nil
	}
	sch, err := s.schema(mt.schema)
	if err != nil {
		return err
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s: response %d: %v", op.ID, status, err)
	}
	return nil
}

// Example returns a fresh copy of the first example of the operation's
// response for status, the template the fake fills in.
func (s *Spec) Example(op *Operation, status int) any {
	v, ptr := s.resolve(op.ptr + pointer("responses", strconv.Itoa(status)))
	if v == nil {
		return nil
	}
	exs, _ := s.lookup(ptr + pointer("content", "application/json", "examples")).(map[string]any)
	names := make([]string, 0, len(exs))
	for n := range exs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ex, _ := s.resolve(ptr + pointer("content", "application/json", "examples", n))
		if m, ok := ex.(map[string]any); ok {
			if val, ok := m["value"]; ok {
				return deepCopy(val)
			}
		}
	}
	return nil
}

// Operation returns the operation with an operationId.
func (s *Spec) Operation(id string) *Operation {
	for _, op := range s.ops {
		if op.ID == id {
			return op
		}
	}
	return nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}
