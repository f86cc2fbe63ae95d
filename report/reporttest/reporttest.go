// Package reporttest checks report output against the published JSON
// Schemas, for tests of this module.
package reporttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kubeharden/kubeharden/report"
)

var (
	once            sync.Once
	lintSch, fixSch *jsonschema.Schema
	errC            error
)

func compile() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	var ids []string
	for _, src := range [][]byte{report.Schema(), report.FixSchema()} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
		if err != nil {
			errC = fmt.Errorf("parse schema: %w", err)
			return
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			errC = err
			return
		}
		ids = append(ids, id)
	}
	if lintSch, errC = c.Compile(ids[0]); errC != nil {
		return
	}
	fixSch, errC = c.Compile(ids[1])
}

// Validate reports whether b is a JSON lint report valid under the
// embedded report schema. The schemas are compiled once, offline.
func Validate(b []byte) error { return validate(b, func() *jsonschema.Schema { return lintSch }) }

// ValidateFix reports whether b is a JSON fix report valid under the
// embedded fix schema.
func ValidateFix(b []byte) error { return validate(b, func() *jsonschema.Schema { return fixSch }) }

func validate(b []byte, schema func() *jsonschema.Schema) error {
	once.Do(compile)
	if errC != nil {
		return errC
	}
	if !json.Valid(b) {
		return fmt.Errorf("not JSON")
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return schema().Validate(v)
}
