package render

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The deterministic versions of sprig's non-deterministic functions
// (sprig v3.3.0, as Helm v3.21.4 uses it), with sprig's signatures and
// result types and formats. See determinism.go for how templates reach
// them and how they are seeded.

// detNow is the clock of every render: what now returns, what date,
// ago and the certificates' validity start from. It is a constant so
// that a render depends on its input alone.
var detNow = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// detCall is one run of a call site.
type detCall struct {
	fn    string
	seed  [32]byte
	limit int64
	rng   *rand.Rand
}

// rand returns the call's random stream (ChaCha8 from the seed).
func (c *detCall) rand() *rand.Rand {
	if c.rng == nil {
		c.rng = rand.New(rand.NewChaCha8(c.seed))
	}
	return c.rng
}

// bytes returns n bytes of the call's random stream.
func (c *detCall) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(c.rand().Uint32())
	}
	return b
}

// detFunc is a replaced function: its number of arguments (-1: any) and
// its body, given the arguments as JSON decoded them (json.Number for
// numbers).
type detFunc struct {
	nargs int
	body  func(c *detCall, a detArgs) (any, error)
}

func (f detFunc) run(c *detCall, args []any) (any, error) {
	if f.nargs >= 0 && len(args) != f.nargs {
		return nil, fmt.Errorf("wrong number of args for %s: want %d got %d", c.fn, f.nargs, len(args))
	}
	v, err := f.body(c, detArgs{c.fn, args})
	if err != nil && !strings.HasPrefix(err.Error(), c.fn+":") {
		err = fmt.Errorf("%s: %w", c.fn, err)
	}
	return v, err
}

// detFuncs are the replaced functions, by name.
var detFuncs = map[string]detFunc{
	// Random strings and numbers.
	"randAlphaNum": {1, randChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")},
	"randAlpha":    {1, randChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")},
	"randNumeric":  {1, randChars("0123456789")},
	"randAscii":    {1, randChars(asciiPrintable())},
	"randBytes":    {1, detRandBytes},
	"randInt":      {2, detRandInt},
	"uuidv4":       {0, detUUID},
	"shuffle":      {1, detShuffle},
	// Map order.
	"keys":   {-1, detKeys},
	"values": {1, detValues},
	// The clock.
	"now":            {0, func(*detCall, detArgs) (any, error) { return detNow, nil }},
	"date":           {2, detDate(0, 1, -1)},
	"dateInZone":     {3, detDate(0, 1, 2)},
	"date_in_zone":   {3, detDate(0, 1, 2)},
	"htmlDate":       {1, detDate(-1, 0, -1)},
	"htmlDateInZone": {2, detDate(-1, 0, 1)},
	"ago":            {1, detAgo},
	"durationRound":  {1, detDurationRound},
	"toDate":         {2, detToDate(false)},
	"mustToDate":     {2, detToDate(true)},
	// Keys, certificates, salted hashes, encryption.
	"genPrivateKey":            {1, detPrivateKey},
	"genCA":                    {2, detCert(certCA, false)},
	"genCAWithKey":             {3, detCert(certCA, true)},
	"genSelfSignedCert":        {4, detCert(certSelf, false)},
	"genSelfSignedCertWithKey": {5, detCert(certSelf, true)},
	"genSignedCert":            {5, detCert(certSigned, false)},
	"genSignedCertWithKey":     {6, detCert(certSigned, true)},
	"bcrypt":                   {1, detBcrypt},
	"htpasswd":                 {2, detHtpasswd},
	"encryptAES":               {2, detEncryptAES},
}

// detArgs are the arguments of a call.
type detArgs struct {
	fn   string
	args []any
}

func (a detArgs) int(i int) (int, error) {
	if n, ok := a.args[i].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			return int(v), nil
		}
		if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f), nil
		}
	}
	return 0, fmt.Errorf("%s: argument %d is %s, not an integer", a.fn, i+1, a.describe(i))
}

func (a detArgs) string(i int) (string, error) {
	if s, ok := a.args[i].(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("%s: argument %d is %s, not a string", a.fn, i+1, a.describe(i))
}

// strings reads a list of strings (sprig's []interface{} of IPs or DNS
// names); nil is an empty list.
func (a detArgs) strings(i int) ([]string, error) {
	if a.args[i] == nil {
		return nil, nil
	}
	l, ok := a.args[i].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: argument %d is %s, not a list", a.fn, i+1, a.describe(i))
	}
	out := make([]string, len(l))
	for j, v := range l {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s: item %d of argument %d is not a string", a.fn, j+1, i+1)
		}
		out[j] = s
	}
	return out, nil
}

func (a detArgs) describe(i int) string {
	switch a.args[i].(type) {
	case nil:
		return "nil"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	}
	return "a map"
}

// count reads a length argument, bounded by the output limit.
func (a detArgs) count(c *detCall, i int) (int, error) {
	n, err := a.int(i)
	if err != nil {
		return 0, err
	}
	if int64(n) > c.limit {
		return 0, fmt.Errorf("%s: %d is over the %d byte output limit", a.fn, n, c.limit)
	}
	return max(n, 0), nil
}

func asciiPrintable() string {
	var b strings.Builder
	for r := ' '; r < 127; r++ {
		b.WriteRune(r)
	}
	return b.String()
}

// randChars returns a function of a count making that many characters
// of alphabet; a negative count makes "", as sprig's does.
func randChars(alphabet string) func(*detCall, detArgs) (any, error) {
	return func(c *detCall, a detArgs) (any, error) {
		n, err := a.count(c, 0)
		if err != nil {
			return nil, err
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[c.rand().IntN(len(alphabet))]
		}
		return string(b), nil
	}
}

func detRandBytes(c *detCall, a detArgs) (any, error) {
	n, err := a.count(c, 0)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString(c.bytes(n)), nil
}

func detRandInt(c *detCall, a detArgs) (any, error) {
	lo, err := a.int(0)
	if err != nil {
		return nil, err
	}
	hi, err := a.int(1)
	if err != nil {
		return nil, err
	}
	if hi <= lo {
		return nil, fmt.Errorf("randInt: max %d is not above min %d", hi, lo)
	}
	return lo + c.rand().IntN(hi-lo), nil
}

func detUUID(c *detCall, _ detArgs) (any, error) {
	b := c.bytes(16)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

func detShuffle(c *detCall, a detArgs) (any, error) {
	s, err := a.string(0)
	if err != nil {
		return nil, err
	}
	r := []rune(s)
	c.rand().Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
	return string(r), nil
}

// detKeys is sprig's keys in sorted order: the keys of every map given.
func detKeys(_ *detCall, a detArgs) (any, error) {
	out := []string{}
	for i, v := range a.args {
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			return nil, fmt.Errorf("keys: argument %d is %s, not a map", i+1, a.describe(i))
		}
		for k := range m {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

// detValues is sprig's values in the order of the sorted keys. Numbers
// come back as float64, the type Helm gives the numbers of values files.
func detValues(_ *detCall, a detArgs) (any, error) {
	m, ok := a.args[0].(map[string]any)
	if !ok && a.args[0] != nil {
		return nil, fmt.Errorf("values: argument 1 is %s, not a map", a.describe(0))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = plainNumbers(m[k])
	}
	return out, nil
}

// plainNumbers replaces the json.Numbers in v by float64s.
func plainNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = plainNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = plainNumbers(v[k])
		}
	}
	return v
}

// detTime reads a date argument as sprig's date functions do: a time
// (which reached us as RFC 3339 text) or Unix seconds; anything else is
// the clock, detNow.
func detTime(v any) time.Time {
	switch v := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	case json.Number:
		if s, err := v.Int64(); err == nil {
			return time.Unix(s, 0).UTC()
		}
	}
	return detNow
}

// detLocation is time.LoadLocation(zone) with "Local" and unknown zones
// UTC: the machine's zone is not part of the input.
func detLocation(zone string) *time.Location {
	if zone == "Local" || zone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// detDate makes date, dateInZone, htmlDate and htmlDateInZone: the
// indexes of the layout (-1: "2006-01-02"), date and zone (-1: "Local")
// arguments.
func detDate(layout, date, zone int) func(*detCall, detArgs) (any, error) {
	return func(_ *detCall, a detArgs) (any, error) {
		l, z := "2006-01-02", "Local"
		var err error
		if layout >= 0 {
			if l, err = a.string(layout); err != nil {
				return nil, err
			}
		}
		if zone >= 0 {
			if z, err = a.string(zone); err != nil {
				return nil, err
			}
		}
		return detTime(a.args[date]).In(detLocation(z)).Format(l), nil
	}
}

func detAgo(_ *detCall, a detArgs) (any, error) {
	return detNow.Sub(detTime(a.args[0])).Round(time.Second).String(), nil
}

// detDurationRound is sprig's durationRound, a time's age taken at
// detNow.
func detDurationRound(_ *detCall, a detArgs) (any, error) {
	var d time.Duration
	switch v := a.args[0].(type) {
	case string:
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			d = 0
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				d = detNow.Sub(t)
			}
		}
	case json.Number:
		n, _ := v.Int64()
		d = time.Duration(n)
	}
	if d < 0 {
		d = -d
	}
	const day = 24 * time.Hour
	for _, u := range []struct {
		d    time.Duration
		unit string
	}{{365 * day, "y"}, {30 * day, "mo"}, {day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d > u.d {
			return strconv.FormatInt(int64(d/u.d), 10) + u.unit, nil
		}
	}
	return "0s", nil
}

// detToDate makes toDate and mustToDate, which parse in UTC where sprig
// takes the machine's zone.
func detToDate(must bool) func(*detCall, detArgs) (any, error) {
	return func(_ *detCall, a detArgs) (any, error) {
		l, err := a.string(0)
		if err != nil {
			return nil, err
		}
		s, err := a.string(1)
		if err != nil {
			return nil, err
		}
		t, err := time.ParseInLocation(l, s, time.UTC)
		if err != nil && must {
			return nil, err
		}
		return t, nil
	}
}

// Canned keys, parsed once.
var detRSA2048 = sync.OnceValue(func() []crypto.Signer { return parseCanned(detKeys2048[:]) })

func parseCanned(pems []string) []crypto.Signer {
	out := make([]crypto.Signer, len(pems))
	for i, p := range pems {
		k, err := parseKeyPEM(p)
		if err != nil {
			panic(fmt.Sprintf("canned key %d: %v", i, err))
		}
		out[i] = k
	}
	return out
}

// pick returns an index below n chosen by the call's seed.
func (c *detCall) pick(n int) int {
	return int(binary.BigEndian.Uint64(c.seed[24:]) % uint64(n))
}

// derivedKey returns an ECDSA P-256 or Ed25519 key derived from the
// call's random stream.
func (c *detCall) derivedKey(typ string) (crypto.Signer, error) {
	if typ == "ed25519" {
		return ed25519.NewKeyFromSeed(c.bytes(ed25519.SeedSize)), nil
	}
	for {
		// Almost every 32-byte value is a valid P-256 scalar.
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), c.bytes(32)); err == nil {
			return k, nil
		}
	}
}

// detPrivateKey is genPrivateKey: "rsa" (or "") a canned 4096-bit key,
// "dsa" the canned DSA key, "ecdsa" and "ed25519" keys derived from the
// seed; PEM in sprig's encodings.
func detPrivateKey(c *detCall, a detArgs) (any, error) {
	typ, err := a.string(0)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "", "rsa":
		return detKeys4096[c.pick(len(detKeys4096))], nil
	case "dsa":
		return detKeyDSA, nil
	case "ecdsa", "ed25519":
		k, err := c.derivedKey(typ)
		if err != nil {
			return nil, err
		}
		return keyPEM(k)
	}
	return "Unknown type " + typ, nil
}

// keyPEM encodes a key as sprig does: PKCS #1 for RSA, SEC 1 for ECDSA,
// PKCS #8 otherwise.
func keyPEM(k crypto.Signer) (string, error) {
	var b *pem.Block
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", err
		}
		b = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case *rsa.PrivateKey:
		b = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return "", err
		}
		b = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return string(pem.EncodeToMemory(b)), nil
}

// parseKeyPEM reads a private key in any of sprig's encodings that can
// sign a certificate.
func parseKeyPEM(s string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("no PEM data in private key")
	}
	var k any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("a %s cannot sign certificates", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %v", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign certificates", k)
	}
	return signer, nil
}

// detCertificate is what the certificate functions return: sprig's
// certificate, PEM text in .Cert and .Key.
type detCertificate struct {
	Cert string
	Key  string
}

type certKind int

const (
	certCA certKind = iota
	certSelf
	certSigned
)

// detCert makes the certificate functions: genCA (cn, days),
// genSelfSignedCert (cn, ips, dns, days), genSignedCert (cn, ips, dns,
// days, ca), and their WithKey forms with a PEM key last. Without a key,
// the certificate's key is a canned RSA 2048-bit one chosen by the seed.
// The serial number comes from the seed, validity starts at detNow, and
// the signature is deterministic (PKCS #1 v1.5 for RSA, RFC 6979 for
// ECDSA, Ed25519), so the same call makes the same bytes.
func detCert(kind certKind, withKey bool) func(*detCall, detArgs) (any, error) {
	return func(c *detCall, a detArgs) (any, error) {
		cn, err := a.string(0)
		if err != nil {
			return nil, err
		}
		var ips, dns []string
		daysAt := 1
		if kind != certCA {
			if ips, err = a.strings(1); err != nil {
				return nil, err
			}
			if dns, err = a.strings(2); err != nil {
				return nil, err
			}
			daysAt = 3
		}
		days, err := a.int(daysAt)
		if err != nil {
			return nil, err
		}
		var key crypto.Signer
		if withKey {
			s, err := a.string(len(a.args) - 1)
			if err != nil {
				return nil, err
			}
			if key, err = parseKeyPEM(s); err != nil {
				return nil, err
			}
		} else {
			keys := detRSA2048()
			key = keys[c.pick(len(keys))]
		}
		tmpl := &x509.Certificate{
			SerialNumber: c.serial(),
			Subject:      pkix.Name{CommonName: cn},
			DNSNames:     dns,
			NotBefore:    detNow,
			NotAfter:     detNow.Add(24 * time.Hour * time.Duration(days)),
			KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			// As sprig's.
			BasicConstraintsValid: true,
		}
		for _, s := range ips {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("%s: error parsing ip: %s", a.fn, s)
			}
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
		parent, parentKey := tmpl, key
		switch kind {
		case certCA:
			tmpl.KeyUsage |= x509.KeyUsageCertSign
			tmpl.IsCA = true
		case certSigned:
			if parent, parentKey, err = caOf(a.args[4]); err != nil {
				return nil, fmt.Errorf("%s: %v", a.fn, err)
			}
		}
		// A nil reader: the signature is deterministic (RFC 6979 for
		// ECDSA; RSA PKCS #1 v1.5 and Ed25519 are anyway).
		der, err := x509.CreateCertificate(nil, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			return nil, fmt.Errorf("%s: error creating certificate: %v", a.fn, err)
		}
		k, err := keyPEM(key)
		if err != nil {
			return nil, err
		}
		return detCertificate{
			Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			Key:  k,
		}, nil
	}
}

// serial returns a positive 127-bit serial number from the seed.
func (c *detCall) serial() *big.Int {
	b := c.bytes(16)
	b[0] &= 0x7f
	b[15] |= 1
	return new(big.Int).SetBytes(b)
}

// caOf reads a certificate argument (a map with Cert and Key) as a
// signer.
func caOf(v any) (*x509.Certificate, crypto.Signer, error) {
	m, _ := v.(map[string]any)
	certPEM, _ := m["Cert"].(string)
	keyText, _ := m["Key"].(string)
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		return nil, nil, errors.New("unable to decode certificate")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("error parsing certificate: %v", err)
	}
	key, err := parseKeyPEM(keyText)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// bcryptAlphabet is bcrypt's base-64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// detBcrypt returns a string shaped like bcrypt's output ($2a$10$, 22
// characters of salt, 31 of hash) derived from the seed and the input.
// It is not a bcrypt hash of the input: x/crypto/bcrypt takes no salt
// from its caller, and a rendered manifest is linted, not deployed.
func detBcrypt(c *detCall, a detArgs) (any, error) {
	s, err := a.string(0)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(append(c.seed[:], s...))
	r := rand.New(rand.NewChaCha8(h))
	b := []byte("$2a$10$")
	for range 53 {
		b = append(b, bcryptAlphabet[r.IntN(len(bcryptAlphabet))])
	}
	return string(b), nil
}

func detHtpasswd(c *detCall, a detArgs) (any, error) {
	user, err := a.string(0)
	if err != nil {
		return nil, err
	}
	if strings.Contains(user, ":") {
		return "invalid username: " + user, nil
	}
	h, err := detBcrypt(c, detArgs{a.fn, a.args[1:]})
	if err != nil {
		return nil, err
	}
	return user + ":" + h.(string), nil
}

// detEncryptAES is sprig's encryptAES (AES-256-CBC, PKCS #7 padding, the
// IV first, base 64) with the IV from the seed; decryptAES reads it.
func detEncryptAES(c *detCall, a detArgs) (any, error) {
	password, err := a.string(0)
	if err != nil {
		return nil, err
	}
	text, err := a.string(1)
	if err != nil {
		return nil, err
	}
	if text == "" {
		return "", nil
	}
	key := make([]byte, 32)
	copy(key, password)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(text)%aes.BlockSize
	content := append([]byte(text), slices.Repeat([]byte{byte(pad)}, pad)...)
	out := make([]byte, aes.BlockSize+len(content))
	copy(out, c.bytes(aes.BlockSize))
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], content)
	return base64.StdEncoding.EncodeToString(out), nil
}
