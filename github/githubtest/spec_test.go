package githubtest

import (
	"encoding/json"
	"strconv"
	"testing"
)

// TestTemplatesValidate checks the fake against the description: every
// response example it starts from validates against its schema once the
// fake's fixes are applied.
func TestTemplatesValidate(t *testing.T) {
	s, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{spec: s}
	for _, op := range s.ops {
		for code, mt := range op.responses {
			status, err := strconv.Atoi(code)
			if mt == nil || err != nil {
				continue
			}
			ex := srv.template(op, status)
			if ex == nil {
				continue
			}
			b, _ := json.Marshal(ex)
			if err := s.ValidateResponse(op, status, b); err != nil {
				t.Errorf("%s %s example: %v", op.Method, op.Template, err)
			}
		}
	}
}
