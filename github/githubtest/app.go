package githubtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// createInstallationToken exchanges a GitHub App's JWT for an
// installation token, checking the JWT as GitHub does: RS256 signed by
// the app's key, iss the app ID, issued not in the future and expiring
// at most ten minutes ahead.
func (s *Server) createInstallationToken(op *Operation, vars map[string]string, req *http.Request) response {
	_, jwt, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	_, a, err := s.verifyJWT(jwt)
	if err != nil {
		return errorResponse(401, "A JSON web token could not be decoded: "+err.Error())
	}
	inst, _ := strconv.ParseInt(vars["installation_id"], 10, 64)
	if !a.installations[inst] {
		return errorResponse(404, "Not Found")
	}
	b := make([]byte, 16)
	rand.Read(b)
	token := "ghs_" + hex.EncodeToString(b)
	s.tokens[token] = true
	v := s.template(op, 201).(map[string]any)
	v["token"] = token
	v["expires_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	return response{status: 201, body: v}
}

func (s *Server) verifyJWT(jwt string) (map[string]any, *app, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("not a JWT")
	}
	var header struct{ Alg, Typ string }
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, nil, err
	}
	if header.Alg != "RS256" {
		return nil, nil, fmt.Errorf("alg %q, want RS256", header.Alg)
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, nil, err
	}
	var id int64
	switch iss := claims["iss"].(type) {
	case float64:
		id = int64(iss)
	case string:
		id, _ = strconv.ParseInt(iss, 10, 64)
	}
	a := s.apps[id]
	if a == nil {
		return nil, nil, fmt.Errorf("unknown app (iss)")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, nil, fmt.Errorf("signature: %v", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(a.key, crypto.SHA256, sum[:], sig); err != nil {
		return nil, nil, fmt.Errorf("signature does not verify")
	}
	now := time.Now()
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	switch {
	case iat == 0 || exp == 0:
		return nil, nil, fmt.Errorf("iat and exp are required")
	case time.Unix(int64(iat), 0).After(now.Add(5 * time.Second)):
		return nil, nil, fmt.Errorf("'Issued at' claim (iat) must be an Integer representing a time in the past")
	case time.Unix(int64(exp), 0).Before(now):
		return nil, nil, fmt.Errorf("'Expiration time' claim (exp) is in the past")
	case time.Unix(int64(exp), 0).After(now.Add(10*time.Minute + 5*time.Second)):
		return nil, nil, fmt.Errorf("'Expiration time' claim (exp) is too far in the future")
	}
	return claims, a, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func decodeBase64(s string) ([]byte, error) {
	// GitHub accepts base64 with line breaks, as git clients send.
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	return base64.StdEncoding.DecodeString(s)
}
