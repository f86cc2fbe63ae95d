// Package githubtest is a fake GitHub REST API for tests: an httptest
// server on loopback that validates every request (method, path
// template, query parameters, JSON body) and every response it sends
// against GitHub's own API description, keeps the state a review bot and
// a fix-PR job touch (refs, commits, trees, blobs, pull requests,
// reviews, review comments, labels), records the calls, and injects
// faults: rate limits, 5xx and slow responses.
//
// It behaves like GitHub where kubeharden depends on it: a review
// comment on a line outside the pull request's diff is refused with 422,
// a second open pull request for the same head is refused, a ref update
// that is not a fast-forward needs force, and every call needs a token
// the server issued or was told to accept.
package githubtest

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API base URL (no trailing slash), what GITHUB_API_URL
	// would hold.
	URL string

	spec *Spec
	hs   *httptest.Server
	// prefix is the path the API is served under: "" like api.github.com,
	// "/api/v3" like GitHub Enterprise Server.
	prefix string

	mu         sync.Mutex
	repos      map[string]*Repo
	tokens     map[string]bool
	apps       map[int64]*app
	calls      []Call
	violations []string
	faults     []*Fault
	nextID     int64
}

// Call is one request the server received.
type Call struct {
	Method string
	Path   string // as requested, without the API prefix or query
	Query  string
	Op     string // operationId, "" when none matched
	Status int
	Body   []byte
	// Auth is the Authorization header the request carried.
	Auth string
}

// String is "METHOD /path -> status".
func (c Call) String() string {
	p := c.Path
	if c.Query != "" {
		p += "?" + c.Query
	}
	return fmt.Sprintf("%s %s -> %d", c.Method, p, c.Status)
}

// Writes reports whether the call could change state.
func (c Call) Writes() bool { return c.Method != http.MethodGet && c.Method != http.MethodHead }

// Fault is an injected failure of matching requests.
type Fault struct {
	// Op is the operationId to fail ("pulls/list-files"); "" fails any.
	Op string
	// Status is the status sent: 403 or 429 for rate limits, 502...
	Status int
	// RetryAfter sets the Retry-After header (seconds) when > 0.
	RetryAfter int
	// Reset sets X-RateLimit-Remaining: 0 and X-RateLimit-Reset this
	// many seconds ahead (a primary rate limit) when > 0.
	Reset int
	// Delay holds the response this long, or until the client gives up.
	// With Status 0 the request is carried out first, as a slow server
	// does: a client that gives up does not know whether it happened.
	Delay time.Duration
	// Echo puts the request's headers into the error message, as a
	// careless proxy might, to prove they never reach the user.
	Echo bool
	// Times is how many matching requests fail; 0 means 1.
	Times int
}

// Repo is a repository's state.
type Repo struct {
	Owner, Name, DefaultBranch string

	refs    map[string]string // "heads/main" -> commit SHA
	commits map[string]*Commit
	trees   map[string]map[string]TreeEntry
	blobs   map[string][]byte
	pulls   map[int]*Pull
	// comments and reviews are in creation order.
	comments []*Comment
	reviews  []*Review
	nextNum  int
}

// Commit is a git commit the server knows.
type Commit struct {
	SHA, Tree, Message string
	Parents            []string
}

// TreeEntry is one file of a tree (trees are flat: paths hold slashes).
type TreeEntry struct {
	Path, Mode, Type, SHA string
}

// Pull is a pull request.
type Pull struct {
	Number      int
	Title, Body string
	State       string // open, closed
	Head, Base  string // branch names
	HeadSHA     string
	BaseSHA     string
	Files       []File
	Labels      []string
}

// File is one file of a pull request's diff, as pulls/{n}/files gives
// it: Patch is the unified diff's hunks without the file header.
type File struct {
	Filename, Status, Patch string
	Additions, Deletions    int
}

// Comment is a pull request review comment.
type Comment struct {
	ID        int64
	Pull      int
	ReviewID  int64
	Path      string
	Line      int
	StartLine int
	Side      string
	Body      string
	CommitID  string
	InReplyTo int64
	Edits     int
}

// Review is a submitted pull request review.
type Review struct {
	ID       int64
	Pull     int
	Body     string
	State    string // COMMENTED, CHANGES_REQUESTED, APPROVED
	CommitID string
	Comments []int64
}

type app struct {
	id            int64
	key           *rsa.PublicKey
	installations map[int64]bool
}

// NewServer starts a fake serving the API at the root of its URL, like
// api.github.com. Close it when done.
func NewServer() (*Server, error) { return newServer("") }

// NewEnterpriseServer starts a fake serving the API under /api/v3, like
// GitHub Enterprise Server.
func NewEnterpriseServer() (*Server, error) { return newServer("/api/v3") }

func newServer(prefix string) (*Server, error) {
	spec, err := LoadSpec()
	if err != nil {
		return nil, err
	}
	s := &Server{spec: spec, prefix: prefix, repos: map[string]*Repo{}, tokens: map[string]bool{},
		apps: map[int64]*app{}, nextID: 1000}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL + prefix
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.hs.Close() }

// WebURL is the web host's URL, the base of links to files.
func (s *Server) WebURL() string { return s.hs.URL }

// AllowToken makes the server accept a token.
func (s *Server) AllowToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

// AddApp registers a GitHub App with its public key and the
// installations it may exchange JWTs for installation tokens of.
func (s *Server) AddApp(id int64, key *rsa.PublicKey, installations ...int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &app{id: id, key: key, installations: map[int64]bool{}}
	for _, i := range installations {
		a.installations[i] = true
	}
	s.apps[id] = a
}

// Inject adds a fault; faults match in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Violations returns the contract violations seen: requests that do not
// match the API description and responses of the fake that do not.
// A test fails when there is any.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// AddRepo creates a repository whose default branch points at a commit
// (with an empty tree) named sha: a commit that exists in the test's
// local clone.
func (s *Server) AddRepo(owner, name, defaultBranch, sha string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Repo{Owner: owner, Name: name, DefaultBranch: defaultBranch,
		refs: map[string]string{}, commits: map[string]*Commit{}, trees: map[string]map[string]TreeEntry{},
		blobs: map[string][]byte{}, pulls: map[int]*Pull{}, nextNum: 1}
	s.repos[owner+"/"+name] = r
	if sha != "" {
		r.addCommitLocked(sha)
		r.refs["heads/"+defaultBranch] = sha
	}
	return r
}

// AddCommit records a commit of the local clone (with an empty tree) so
// that refs can point at it.
func (s *Server) AddCommit(owner, name, sha string, parents ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[owner+"/"+name]
	r.addCommitLocked(sha, parents...)
}

func (r *Repo) addCommitLocked(sha string, parents ...string) {
	empty := treeSHA(nil)
	if r.trees[empty] == nil {
		r.trees[empty] = map[string]TreeEntry{}
	}
	r.commits[sha] = &Commit{SHA: sha, Tree: empty, Message: "seeded", Parents: parents}
}

// SetRef points a ref ("heads/main") at a commit.
func (s *Server) SetRef(owner, name, ref, sha string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[owner+"/"+name]
	if _, ok := r.commits[sha]; !ok {
		r.addCommitLocked(sha)
	}
	r.refs[ref] = sha
}

// Ref returns the commit a ref points at, or "".
func (s *Server) Ref(owner, name, ref string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[owner+"/"+name].refs[ref]
}

// AddPull opens a pull request. Number 0 takes the next free number.
func (s *Server) AddPull(owner, name string, p Pull) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[owner+"/"+name]
	if p.Number == 0 {
		p.Number = r.nextNum
	}
	r.nextNum = max(r.nextNum, p.Number+1)
	if p.State == "" {
		p.State = "open"
	}
	for _, sha := range []string{p.HeadSHA, p.BaseSHA} {
		if _, ok := r.commits[sha]; !ok && sha != "" {
			r.addCommitLocked(sha)
		}
	}
	r.pulls[p.Number] = &p
	return p.Number
}

// Pulls returns copies of the repository's pull requests by number.
func (s *Server) Pulls(owner, name string) []Pull {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[owner+"/"+name]
	var out []Pull
	for _, p := range r.pulls {
		c := *p
		c.Labels = slices.Clone(p.Labels)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// Comments returns copies of the review comments in creation order.
func (s *Server) Comments(owner, name string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.repos[owner+"/"+name].comments {
		out = append(out, *c)
	}
	return out
}

// Reviews returns copies of the reviews in creation order.
func (s *Server) Reviews(owner, name string) []Review {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Review
	for _, r := range s.repos[owner+"/"+name].reviews {
		c := *r
		c.Comments = slices.Clone(r.Comments)
		out = append(out, c)
	}
	return out
}

// Commit returns a commit the server knows.
func (s *Server) Commit(owner, name, sha string) (Commit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.repos[owner+"/"+name].commits[sha]
	if !ok {
		return Commit{}, false
	}
	return *c, true
}

// FileAt returns the content of a file in the tree of the commit a ref
// points at, when its blob was created through the API.
func (s *Server) FileAt(owner, name, ref, path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[owner+"/"+name]
	c, ok := r.commits[r.refs[ref]]
	if !ok {
		return nil, false
	}
	e, ok := r.trees[c.Tree][path]
	if !ok {
		return nil, false
	}
	b, ok := r.blobs[e.SHA]
	return b, ok
}

// apiError is GitHub's error body.
type apiError struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url"`
	Errors           []any  `json:"errors,omitempty"`
	Status           string `json:"status,omitempty"`
}

const docs = "https://docs.github.com/rest"

// response is what a handler decided to send.
type response struct {
	status int
	body   any // marshalled as JSON; nil for no content
	header http.Header
}

func errorResponse(status int, msg string, errs ...string) response {
	e := apiError{Message: msg, DocumentationURL: docs}
	for _, m := range errs {
		e.Errors = append(e.Errors, m)
	}
	return response{status: status, body: e}
}

// shapeErrors gives a 422's errors the shape the operation declares:
// strings ("validation-error-simple") or objects with a code
// ("validation-error").
func (s *Server) shapeErrors(op *Operation, r response) response {
	e, ok := r.body.(apiError)
	if !ok || r.status != 422 || len(e.Errors) == 0 {
		return r
	}
	mt := op.responses["422"]
	if mt == nil || mt.schema == "" {
		return r
	}
	if _, ptr := s.spec.resolve(mt.schema); strings.HasSuffix(ptr, "/validation-error-simple") {
		return r
	}
	for i, m := range e.Errors {
		e.Errors[i] = map[string]any{"code": "custom", "message": m}
	}
	r.body = e
	return r
}

func (s *Server) violate(format string, args ...any) {
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	path := strings.TrimPrefix(req.URL.EscapedPath(), s.prefix)
	call := Call{Method: req.Method, Path: path, Query: req.URL.RawQuery, Body: body, Auth: req.Header.Get("Authorization")}
	if s.prefix != "" && !strings.HasPrefix(req.URL.EscapedPath(), s.prefix+"/") {
		path = "" // matches nothing
	}
	op, vars := s.spec.Match(req.Method, path)
	var resp response
	var fault *Fault

	s.mu.Lock()
	switch {
	case op == nil:
		s.violate("%s %s: no such operation in the API description", req.Method, req.URL.Path)
		resp = errorResponse(404, "Not Found")
	default:
		call.Op = op.ID
		fault = s.takeFault(op.ID)
		if fault != nil && fault.Status != 0 {
			resp = s.faultResponse(fault, req)
			break
		}
		if err := s.spec.ValidateQuery(op, req.URL.Query()); err != nil {
			s.violate("%v", err)
			resp = errorResponse(422, "Validation Failed", err.Error())
			break
		}
		v, err := s.spec.ValidateBody(op, body)
		if err != nil {
			s.violate("%v", err)
			resp = errorResponse(422, "Validation Failed", err.Error())
			break
		}
		if r, ok := s.authenticate(op, req); !ok {
			resp = r
			break
		}
		resp = s.handle(op, vars, req, v)
	}
	if op != nil {
		resp = s.shapeErrors(op, resp)
	}
	s.mu.Unlock()

	if fault != nil && fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-req.Context().Done():
		}
	}

	var out []byte
	if resp.body != nil {
		out, _ = json.Marshal(resp.body)
	}
	s.mu.Lock()
	if op != nil && (fault == nil || fault.Status == 0 || declared(op, resp.status)) {
		if err := s.checkResponse(op, resp.status, out); err != nil {
			s.violate("fake's own response: %v", err)
		}
	}
	call.Status = resp.status
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	h := w.Header()
	for k, vs := range resp.header {
		h[k] = vs
	}
	if h.Get("X-RateLimit-Remaining") == "" {
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "4999")
		h.Set("X-RateLimit-Used", "1")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}
	if out != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(resp.status)
	w.Write(out)
}

// declared reports whether the operation declares a response status.
func declared(op *Operation, status int) bool {
	_, ok := op.responses[strconv.Itoa(status)]
	return ok
}

// checkResponse validates against the operation's declared response, or
// — for statuses GitHub sends on any operation (401, rate limits, 5xx)
// — against the basic error schema.
func (s *Server) checkResponse(op *Operation, status int, body []byte) error {
	if declared(op, status) {
		return s.spec.ValidateResponse(op, status, body)
	}
	sch, err := s.spec.schema("/components/schemas/basic-error")
	if err != nil {
		return err
	}
	v, err := decodeJSON(body)
	if err != nil {
		return fmt.Errorf("%s: status %d: %v", op.ID, status, err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s: status %d: %v", op.ID, status, err)
	}
	return nil
}

func (s *Server) takeFault(op string) *Fault {
	for i, f := range s.faults {
		if f.Op != "" && f.Op != op {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return f
	}
	return nil
}

func (s *Server) faultResponse(f *Fault, req *http.Request) response {
	status := f.Status
	msg := http.StatusText(status)
	switch {
	case f.Reset > 0:
		msg = "API rate limit exceeded for installation."
	case f.RetryAfter > 0 || status == 429:
		msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	}
	if f.Echo {
		var hs []string
		for k, vs := range req.Header {
			hs = append(hs, k+": "+strings.Join(vs, ", "))
		}
		sort.Strings(hs)
		msg += " (request headers: " + strings.Join(hs, "; ") + ")"
	}
	r := errorResponse(status, msg)
	r.header = http.Header{}
	if f.RetryAfter > 0 {
		r.header.Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Reset > 0 {
		r.header.Set("X-RateLimit-Limit", "5000")
		r.header.Set("X-RateLimit-Remaining", "0")
		r.header.Set("X-RateLimit-Used", "5000")
		r.header.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Duration(f.Reset)*time.Second).Unix(), 10))
		r.header.Set("X-RateLimit-Resource", "core")
	}
	return r
}

// authenticate checks the Authorization header: an app JWT for the
// installation token exchange, an issued or allowed token otherwise.
func (s *Server) authenticate(op *Operation, req *http.Request) (response, bool) {
	auth := req.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	if op.ID == "apps/create-installation-access-token" {
		if !strings.EqualFold(scheme, "Bearer") {
			return errorResponse(401, "A JSON web token could not be decoded"), false
		}
		return response{}, true // the handler verifies the JWT
	}
	if (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "token")) && s.tokens[cred] {
		return response{}, true
	}
	return errorResponse(401, "Bad credentials"), false
}

func (s *Server) repo(vars map[string]string) *Repo {
	return s.repos[vars["owner"]+"/"+vars["repo"]]
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

// handle runs an operation on the state; the request is valid.
func (s *Server) handle(op *Operation, vars map[string]string, req *http.Request, body any) response {
	in, _ := body.(map[string]any)
	if op.ID == "apps/create-installation-access-token" {
		return s.createInstallationToken(op, vars, req)
	}
	r := s.repo(vars)
	if r == nil {
		return errorResponse(404, "Not Found")
	}
	q := req.URL.Query()
	switch op.ID {
	case "repos/get":
		v := s.template(op, 200).(map[string]any)
		v["name"] = r.Name
		v["full_name"] = r.Owner + "/" + r.Name
		v["default_branch"] = r.DefaultBranch
		v["owner"].(map[string]any)["login"] = r.Owner
		return response{status: 200, body: v}

	case "git/get-ref":
		sha, ok := r.refs[vars["ref"]]
		if !ok {
			return errorResponse(404, "Not Found")
		}
		return response{status: 200, body: s.refJSON(op, 200, vars["ref"], sha)}

	case "git/create-ref":
		ref, _ := in["ref"].(string)
		sha, _ := in["sha"].(string)
		name, ok := strings.CutPrefix(ref, "refs/")
		if !ok || strings.Count(ref, "/") < 2 {
			return errorResponse(422, "ref must start with 'refs' and have at least two slashes.")
		}
		if _, exists := r.refs[name]; exists {
			return errorResponse(422, "Reference already exists")
		}
		if _, ok := r.commits[sha]; !ok {
			return errorResponse(422, "Object does not exist")
		}
		r.refs[name] = sha
		return response{status: 201, body: s.refJSON(op, 201, name, sha)}

	case "git/update-ref":
		name := vars["ref"]
		old, exists := r.refs[name]
		if !exists {
			return errorResponse(422, "Reference does not exist")
		}
		sha, _ := in["sha"].(string)
		if _, ok := r.commits[sha]; !ok {
			return errorResponse(422, "Object does not exist")
		}
		force, _ := in["force"].(bool)
		if !force && !r.descends(sha, old) {
			return errorResponse(422, "Update is not a fast forward")
		}
		r.refs[name] = sha
		return response{status: 200, body: s.refJSON(op, 200, name, sha)}

	case "git/get-commit":
		c, ok := r.commits[vars["commit_sha"]]
		if !ok {
			return errorResponse(404, "Not Found")
		}
		return response{status: 200, body: s.commitJSON(op, 200, r, c)}

	case "git/create-blob":
		content, _ := in["content"].(string)
		data := []byte(content)
		if enc, _ := in["encoding"].(string); enc == "base64" {
			var err error
			if data, err = decodeBase64(content); err != nil {
				return errorResponse(422, "content is not valid Base64")
			}
		}
		sha := gitHash("blob", data)
		r.blobs[sha] = data
		return response{status: 201, body: map[string]any{"sha": sha, "url": s.apiURL(r, "git/blobs/"+sha)}}

	case "git/create-tree":
		entries := map[string]TreeEntry{}
		if base, ok := in["base_tree"].(string); ok {
			t, ok := r.trees[base]
			if !ok {
				if c, isCommit := r.commits[base]; isCommit {
					t = r.trees[c.Tree]
				} else {
					return errorResponse(422, "base_tree is not a valid tree oid")
				}
			}
			for k, e := range t {
				entries[k] = e
			}
		}
		for _, raw := range in["tree"].([]any) {
			e := raw.(map[string]any)
			path, _ := e["path"].(string)
			mode, _ := e["mode"].(string)
			typ, _ := e["type"].(string)
			if path == "" || mode == "" || typ == "" || strings.HasPrefix(path, "/") || strings.Contains(path, "//") {
				return errorResponse(422, "tree.path, tree.mode and tree.type are required")
			}
			sha, hasSHA := e["sha"]
			content, hasContent := e["content"].(string)
			switch {
			case hasSHA && sha == nil:
				delete(entries, path)
				continue
			case hasContent:
				sum := gitHash("blob", []byte(content))
				r.blobs[sum] = []byte(content)
				entries[path] = TreeEntry{Path: path, Mode: mode, Type: typ, SHA: sum}
			case hasSHA:
				s, _ := sha.(string)
				if _, ok := r.blobs[s]; !ok && typ == "blob" {
					return errorResponse(422, "tree.sha "+s+" is not a valid blob")
				}
				entries[path] = TreeEntry{Path: path, Mode: mode, Type: typ, SHA: s}
			default:
				return errorResponse(422, "tree entry needs sha or content")
			}
		}
		sha := treeSHA(entries)
		r.trees[sha] = entries
		return response{status: 201, body: s.treeJSON(r, sha)}

	case "git/create-commit":
		tree, _ := in["tree"].(string)
		if _, ok := r.trees[tree]; !ok {
			return errorResponse(422, "Tree SHA does not exist")
		}
		var parents []string
		for _, p := range asList(in["parents"]) {
			ps, _ := p.(string)
			if _, ok := r.commits[ps]; !ok {
				return errorResponse(422, "Parent SHA does not exist or is not a commit object")
			}
			parents = append(parents, ps)
		}
		msg, _ := in["message"].(string)
		c := &Commit{Tree: tree, Parents: parents, Message: msg}
		c.SHA = gitHash("commit", []byte(fmt.Sprintf("tree %s\nparents %v\n%d\n\n%s", tree, parents, s.id(), msg)))
		r.commits[c.SHA] = c
		return response{status: 201, body: s.commitJSON(op, 201, r, c)}

	case "pulls/list":
		var list []any
		for _, p := range r.sortedPulls() {
			if st := q.Get("state"); st != "all" && p.State != cmpOrStr(st, "open") {
				continue
			}
			if h := q.Get("head"); h != "" && h != r.Owner+":"+p.Head {
				continue
			}
			if b := q.Get("base"); b != "" && b != p.Base {
				continue
			}
			list = append(list, s.pullJSON(op, 200, r, p, true))
		}
		return s.page(req, list)

	case "pulls/create":
		head, _ := in["head"].(string)
		base, _ := in["base"].(string)
		head = strings.TrimPrefix(head, r.Owner+":")
		headSHA, ok := r.refs["heads/"+head]
		if !ok {
			return errorResponse(422, "Validation Failed", "head is invalid")
		}
		baseSHA, ok := r.refs["heads/"+base]
		if !ok {
			return errorResponse(422, "Validation Failed", "base is invalid")
		}
		for _, p := range r.pulls {
			if p.State == "open" && p.Head == head && p.Base == base {
				return errorResponse(422, "Validation Failed", "A pull request already exists for "+r.Owner+":"+head+".")
			}
		}
		p := &Pull{Number: r.nextNum, State: "open", Head: head, Base: base, HeadSHA: headSHA, BaseSHA: baseSHA}
		p.Title, _ = in["title"].(string)
		p.Body, _ = in["body"].(string)
		r.nextNum++
		r.pulls[p.Number] = p
		return response{status: 201, body: s.pullJSON(op, 201, r, p, false)}

	case "pulls/get", "pulls/update":
		p := r.pulls[atoi(vars["pull_number"])]
		if p == nil {
			return errorResponse(404, "Not Found")
		}
		if op.ID == "pulls/update" {
			if v, ok := in["title"].(string); ok {
				p.Title = v
			}
			if v, ok := in["body"].(string); ok {
				p.Body = v
			}
			if v, ok := in["state"].(string); ok {
				p.State = v
			}
		}
		return response{status: 200, body: s.pullJSON(op, 200, r, p, false)}

	case "pulls/list-files":
		p := r.pulls[atoi(vars["pull_number"])]
		if p == nil {
			return errorResponse(404, "Not Found")
		}
		var list []any
		for _, f := range p.Files {
			v := s.template(op, 200).([]any)[0].(map[string]any)
			v["filename"] = f.Filename
			v["status"] = f.Status
			v["additions"] = f.Additions
			v["deletions"] = f.Deletions
			v["changes"] = f.Additions + f.Deletions
			v["sha"] = gitHash("blob", []byte(f.Filename+f.Patch))
			if f.Patch != "" {
				v["patch"] = f.Patch
			} else {
				delete(v, "patch")
			}
			delete(v, "previous_filename")
			list = append(list, v)
		}
		return s.page(req, list)

	case "pulls/list-review-comments":
		n := atoi(vars["pull_number"])
		var list []any
		for _, c := range r.comments {
			if c.Pull == n {
				list = append(list, s.commentJSON(op, 200, r, c, true))
			}
		}
		return s.page(req, list)

	case "pulls/update-review-comment":
		id, _ := strconv.ParseInt(vars["comment_id"], 10, 64)
		for _, c := range r.comments {
			if c.ID == id {
				c.Body, _ = in["body"].(string)
				c.Edits++
				return response{status: 200, body: s.commentJSON(op, 200, r, c, false)}
			}
		}
		return errorResponse(404, "Not Found")

	case "pulls/list-reviews":
		n := atoi(vars["pull_number"])
		var list []any
		for _, rv := range r.reviews {
			if rv.Pull == n {
				list = append(list, s.reviewJSON(op, 200, r, rv, true))
			}
		}
		return s.page(req, list)

	case "pulls/create-review":
		return s.createReview(op, r, atoi(vars["pull_number"]), in)

	case "issues/add-labels":
		p := r.pulls[atoi(vars["issue_number"])]
		if p == nil {
			return errorResponse(404, "Not Found")
		}
		for _, l := range asList(in["labels"]) {
			name, _ := l.(string)
			if m, ok := l.(map[string]any); ok {
				name, _ = m["name"].(string)
			}
			if !slices.Contains(p.Labels, name) {
				p.Labels = append(p.Labels, name)
			}
		}
		var list []any
		tmpl := s.template(op, 200).([]any)[0].(map[string]any)
		for i, l := range p.Labels {
			v := deepCopy(tmpl).(map[string]any)
			v["name"] = l
			v["id"] = i + 1
			v["default"] = false
			list = append(list, v)
		}
		return response{status: 200, body: list}
	}
	s.violate("%s: the fake does not implement this operation", op.ID)
	return errorResponse(501, "not implemented by the fake")
}

func cmpOrStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// createReview submits a review with its line comments, refusing —
// like GitHub — a comment on a line that is not in the diff.
func (s *Server) createReview(op *Operation, r *Repo, n int, in map[string]any) response {
	p := r.pulls[n]
	if p == nil {
		return errorResponse(404, "Not Found")
	}
	event, _ := in["event"].(string)
	body, _ := in["body"].(string)
	state := map[string]string{"COMMENT": "COMMENTED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "APPROVE": "APPROVED"}[event]
	if state == "" {
		// A review without event stays PENDING; the bot never wants that.
		return errorResponse(422, "Unprocessable Entity", "event is required by this fake: a pending review is never submitted")
	}
	if body == "" && event != "APPROVE" {
		return errorResponse(422, "Unprocessable Entity", "Body is required when using "+event)
	}
	commit, _ := in["commit_id"].(string)
	if commit == "" {
		commit = p.HeadSHA
	}
	var cs []*Comment
	for _, raw := range asList(in["comments"]) {
		m := raw.(map[string]any)
		c := &Comment{Pull: n, CommitID: commit}
		c.Path, _ = m["path"].(string)
		c.Body, _ = m["body"].(string)
		c.Side, _ = m["side"].(string)
		if _, ok := m["position"]; ok {
			return errorResponse(422, "Unprocessable Entity", "this fake expects line and side, not position")
		}
		c.Line = intOf(m["line"])
		c.StartLine = intOf(m["start_line"])
		if c.Side == "" {
			c.Side = "RIGHT"
		}
		if ss, _ := m["start_side"].(string); ss != "" && ss != c.Side {
			return errorResponse(422, "Unprocessable Entity", "pull_request_review_thread.start_side must match side in this fake")
		}
		if c.Line == 0 {
			return errorResponse(422, "Unprocessable Entity", "pull_request_review_thread.line is required")
		}
		f := p.file(c.Path)
		if f == nil {
			return errorResponse(422, "Unprocessable Entity", "pull_request_review_thread.path is not part of the diff")
		}
		h := hunkOf(f.Patch, c.Side, c.Line)
		if h < 0 {
			return errorResponse(422, "Unprocessable Entity", "pull_request_review_thread.line must be part of the diff")
		}
		if c.StartLine != 0 && (c.StartLine > c.Line || hunkOf(f.Patch, c.Side, c.StartLine) != h) {
			return errorResponse(422, "Unprocessable Entity", "pull_request_review_thread.start_line must be part of the same hunk as the line.")
		}
		cs = append(cs, c)
	}
	rv := &Review{ID: s.id(), Pull: n, Body: body, State: state, CommitID: commit}
	for _, c := range cs {
		c.ID = s.id()
		c.ReviewID = rv.ID
		rv.Comments = append(rv.Comments, c.ID)
		r.comments = append(r.comments, c)
	}
	r.reviews = append(r.reviews, rv)
	return response{status: 200, body: s.reviewJSON(op, 200, r, rv, false)}
}

func intOf(v any) int {
	if n, ok := v.(json.Number); ok {
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

func (p *Pull) file(name string) *File {
	for i := range p.Files {
		if p.Files[i].Filename == name {
			return &p.Files[i]
		}
	}
	return nil
}

// hunkOf returns the index of the hunk of a patch that holds line on
// side (RIGHT: the new file, LEFT: the old), or -1.
func hunkOf(patch, side string, line int) int {
	h := -1
	var oldLine, newLine int
	for _, l := range strings.Split(patch, "\n") {
		if strings.HasPrefix(l, "@@") {
			var o, ol, n, nl int
			if _, err := fmt.Sscanf(hunkRanges(l), "%d %d %d %d", &o, &ol, &n, &nl); err != nil {
				return -1
			}
			h++
			oldLine, newLine = o, n
			continue
		}
		if h < 0 {
			continue
		}
		switch {
		case strings.HasPrefix(l, "+"):
			if side == "RIGHT" && newLine == line {
				return h
			}
			newLine++
		case strings.HasPrefix(l, "-"):
			if side == "LEFT" && oldLine == line {
				return h
			}
			oldLine++
		case strings.HasPrefix(l, "\\"):
		default:
			if side == "RIGHT" && newLine == line || side == "LEFT" && oldLine == line {
				return h
			}
			oldLine++
			newLine++
		}
	}
	return -1
}

// hunkRanges turns "@@ -a,b +c,d @@ ..." into "a b c d" (counts default
// to 1).
func hunkRanges(header string) string {
	f := strings.Fields(header)
	if len(f) < 3 {
		return ""
	}
	part := func(s string) string {
		start, n, ok := strings.Cut(s[1:], ",")
		if !ok {
			n = "1"
		}
		return start + " " + n
	}
	return part(f[1]) + " " + part(f[2])
}

// descends reports whether commit sha has old among its ancestors (or
// is old).
func (r *Repo) descends(sha, old string) bool {
	seen := map[string]bool{}
	queue := []string{sha}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == old {
			return true
		}
		if seen[c] {
			continue
		}
		seen[c] = true
		if cm, ok := r.commits[c]; ok {
			queue = append(queue, cm.Parents...)
		}
	}
	return false
}

func (r *Repo) sortedPulls() []*Pull {
	var ps []*Pull
	for _, p := range r.pulls {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Number > ps[j].Number })
	return ps
}

// page serves one page of a list (page, per_page) with GitHub's Link
// header pointing at the next one.
func (s *Server) page(req *http.Request, list []any) response {
	q := req.URL.Query()
	per := 30
	if v := q.Get("per_page"); v != "" {
		per = min(max(atoi(v), 1), 100)
	}
	pg := max(atoi(q.Get("page")), 1)
	start := min((pg-1)*per, len(list))
	end := min(start+per, len(list))
	out := append([]any{}, list[start:end]...)
	r := response{status: 200, body: out, header: http.Header{}}
	if end < len(list) {
		u := *req.URL
		u.Scheme, u.Host = "http", req.Host
		nq := u.Query()
		nq.Set("page", strconv.Itoa(pg+1))
		nq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = nq.Encode()
		r.header.Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", u.String()))
	}
	return r
}

func (s *Server) apiURL(r *Repo, rest string) string {
	return s.URL + "/repos/" + r.Owner + "/" + r.Name + "/" + rest
}

func (s *Server) refJSON(op *Operation, status int, name, sha string) any {
	v := s.template(op, status).(map[string]any)
	v["ref"] = "refs/" + name
	obj := v["object"].(map[string]any)
	obj["sha"] = sha
	obj["type"] = "commit"
	return v
}

func (s *Server) commitJSON(op *Operation, status int, r *Repo, c *Commit) any {
	v := s.template(op, status).(map[string]any)
	v["sha"] = c.SHA
	v["message"] = c.Message
	v["url"] = s.apiURL(r, "git/commits/"+c.SHA)
	v["html_url"] = s.WebURL() + "/" + r.Owner + "/" + r.Name + "/commit/" + c.SHA
	v["tree"] = map[string]any{"sha": c.Tree, "url": s.apiURL(r, "git/trees/"+c.Tree)}
	ps := []any{}
	for _, p := range c.Parents {
		ps = append(ps, map[string]any{"sha": p, "url": s.apiURL(r, "git/commits/"+p),
			"html_url": s.WebURL() + "/" + r.Owner + "/" + r.Name + "/commit/" + p})
	}
	v["parents"] = ps
	return v
}

func (s *Server) treeJSON(r *Repo, sha string) any {
	entries := []any{}
	paths := make([]string, 0, len(r.trees[sha]))
	for p := range r.trees[sha] {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := r.trees[sha][p]
		entries = append(entries, map[string]any{"path": e.Path, "mode": e.Mode, "type": e.Type, "sha": e.SHA,
			"size": len(r.blobs[e.SHA]), "url": s.apiURL(r, "git/blobs/"+e.SHA)})
	}
	return map[string]any{"sha": sha, "url": s.apiURL(r, "git/trees/"+sha), "truncated": false, "tree": entries}
}

func (s *Server) pullJSON(op *Operation, status int, r *Repo, p *Pull, list bool) any {
	t := s.template(op, status)
	if list {
		t = t.([]any)[0]
	}
	v := t.(map[string]any)
	v["number"] = p.Number
	v["id"] = p.Number + 100000
	v["state"] = p.State
	v["title"] = p.Title
	v["body"] = p.Body
	v["url"] = s.apiURL(r, "pulls/"+strconv.Itoa(p.Number))
	v["html_url"] = s.WebURL() + "/" + r.Owner + "/" + r.Name + "/pull/" + strconv.Itoa(p.Number)
	v["requested_teams"] = []any{}
	labels := []any{}
	for i, l := range p.Labels {
		labels = append(labels, map[string]any{"id": i + 1, "node_id": "L" + strconv.Itoa(i), "url": s.apiURL(r, "labels/"+l),
			"name": l, "description": "", "color": "ededed", "default": false})
	}
	v["labels"] = labels
	for _, side := range []struct{ key, ref, sha string }{{"head", p.Head, p.HeadSHA}, {"base", p.Base, p.BaseSHA}} {
		b := v[side.key].(map[string]any)
		b["ref"] = side.ref
		b["sha"] = side.sha
		b["label"] = r.Owner + ":" + side.ref
		if repo, ok := b["repo"].(map[string]any); ok {
			repo["name"] = r.Name
			repo["full_name"] = r.Owner + "/" + r.Name
			repo["default_branch"] = r.DefaultBranch
		}
	}
	return v
}

func (s *Server) commentJSON(op *Operation, status int, r *Repo, c *Comment, list bool) any {
	t := s.template(op, status)
	if list {
		t = t.([]any)[0]
	}
	v := t.(map[string]any)
	v["id"] = c.ID
	v["pull_request_review_id"] = c.ReviewID
	v["path"] = c.Path
	v["body"] = c.Body
	v["commit_id"] = c.CommitID
	v["original_commit_id"] = c.CommitID
	v["line"] = c.Line
	v["original_line"] = c.Line
	v["side"] = c.Side
	if c.StartLine != 0 {
		v["start_line"] = c.StartLine
		v["original_start_line"] = c.StartLine
		v["start_side"] = c.Side
	} else {
		v["start_line"] = nil
		v["original_start_line"] = nil
		v["start_side"] = nil
	}
	if c.InReplyTo != 0 {
		v["in_reply_to_id"] = c.InReplyTo
	} else {
		delete(v, "in_reply_to_id")
	}
	v["url"] = s.apiURL(r, "pulls/comments/"+strconv.FormatInt(c.ID, 10))
	return v
}

func (s *Server) reviewJSON(op *Operation, status int, r *Repo, rv *Review, list bool) any {
	t := s.template(op, status)
	if list {
		t = t.([]any)[0]
	}
	v := t.(map[string]any)
	v["id"] = rv.ID
	v["body"] = rv.Body
	v["state"] = rv.State
	v["commit_id"] = rv.CommitID
	return v
}

// template is the description's example for a response, with the few
// fields its examples get wrong (a team without "type", a repository
// without "language") made valid.
func (s *Server) template(op *Operation, status int) any {
	v := s.spec.Example(op, status)
	fixExample(v)
	return v
}

func fixExample(v any) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["requested_teams"]; ok {
			v["requested_teams"] = []any{}
		}
		if _, ok := v["full_name"]; ok {
			if _, ok := v["language"]; !ok {
				v["language"] = nil
			}
		}
		for _, e := range v {
			fixExample(e)
		}
	case []any:
		for _, e := range v {
			fixExample(e)
		}
	}
}

// gitHash is git's object name for content of a type.
func gitHash(typ string, data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00", typ, len(data))
	h.Write(data)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// treeSHA names a flat tree by its sorted entries, so that equal trees
// get equal names as in git.
func treeSHA(entries map[string]TreeEntry) string {
	paths := make([]string, 0, len(entries))
	for p := range entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b bytes.Buffer
	for _, p := range paths {
		e := entries[p]
		fmt.Fprintf(&b, "%s %s %s %s\n", e.Mode, e.Type, e.SHA, e.Path)
	}
	return gitHash("tree", b.Bytes())
}
