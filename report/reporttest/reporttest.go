// Package reporttest checks report output against the published JSON
// Schema, for tests of this module.
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
	once   sync.Once
	schema *jsonschema.Schema
	errC   error
)

// Validate reports whether b is a JSON report valid under the embedded
// report schema. The schema is compiled once, offline.
func Validate(b []byte) error {
	once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report.Schema()))
		if err != nil {
			errC = fmt.Errorf("parse schema: %w", err)
			return
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(id, doc); err != nil {
			errC = err
			return
		}
		schema, errC = c.Compile(id)
	})
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
	return schema.Validate(v)
}
