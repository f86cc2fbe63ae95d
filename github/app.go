package github

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ParsePrivateKey reads a GitHub App's private key: PEM, PKCS #1 ("RSA
// PRIVATE KEY", what GitHub hands out) or PKCS #8 ("PRIVATE KEY").
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block in the private key file")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key is %T, want RSA", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("unexpected PEM block %q in the private key file", block.Type)
}

// appJWT is the JSON Web Token a GitHub App authenticates with: RS256,
// issued a minute in the past against clock drift, expiring in nine
// minutes (GitHub refuses more than ten).
func appJWT(appID int64, key *rsa.PrivateKey, now time.Time) (string, error) {
	if key == nil {
		return "", errors.New("GitHub App: no private key")
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": "RS256", "typ": "JWT"})
	claims := enc(map[string]int64{"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(9 * time.Minute).Unix(), "iss": appID})
	sum := sha256.Sum256([]byte(head + "." + claims))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("GitHub App: sign JWT: %w", err)
	}
	return head + "." + claims + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
