// Package apidoc keeps the code and the OpenAPI document (api/openapi.yaml) together: it
// loads the document, checks that it is a valid OpenAPI 3.1 document, and validates
// requests and answers against it, so that a test that sees an answer the document does
// not describe fails.
//
// kin-openapi parses and checks the document and finds the operation of a request. Its
// own 3.1 body validation compiles the schema again on every call, so the JSON Schema
// 2020-12 validation is done here with the compiler it uses underneath
// (santhosh-tekuri/jsonschema), with every schema of the document compiled once at Load.
package apidoc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"

	"github.com/adhoc-support/adhoc-support/api"
)

// docURL names the document inside the schema compiler; "#/components/schemas/…"
// references resolve against it.
const docURL = "urn:adhoc-support:openapi"

// Validator checks requests and answers against the document. It is safe for concurrent
// use; everything it needs is built by Load.
type Validator struct {
	doc    *openapi3.T
	router routers.Router

	// Compiled schemas, by the document object they belong to.
	bodies  map[*openapi3.MediaType]*jsonschema.Schema // JSON media types only
	headers map[*openapi3.Header]*jsonschema.Schema
	params  map[*openapi3.Parameter]*jsonschema.Schema

	// methodNotAllowed is components/responses/MethodNotAllowed: the answer of every known
	// path to a method it does not serve.
	methodNotAllowed *openapi3.Response
}

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

// Load returns the validator for the embedded document. The document is parsed, checked
// and compiled on the first call only; later calls return the same validator.
func Load() (*Validator, error) {
	loadOnce.Do(func() { loaded, loadErr = New(api.OpenAPI) })
	return loaded, loadErr
}

// New builds a validator for a document in YAML or JSON. Most callers want Load.
func New(document []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("apidoc: parse the document: %w", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("apidoc: the document is OpenAPI %q, want 3.1", doc.OpenAPI)
	}
	// The examples are left to the tests (TestDocumentIsValid): checking them compiles a
	// schema per example and would triple the time every test binary spends here.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("apidoc: the document is not valid OpenAPI: %w", err)
	}
	// Route on the path alone: the servers list the deployments, but a test server listens
	// on any loopback port.
	routed := *doc
	routed.Servers = nil
	router, err := legacy.NewRouter(&routed, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("apidoc: route the document: %w", err)
	}
	v := &Validator{
		doc:     doc,
		router:  router,
		bodies:  map[*openapi3.MediaType]*jsonschema.Schema{},
		headers: map[*openapi3.Header]*jsonschema.Schema{},
		params:  map[*openapi3.Parameter]*jsonschema.Schema{},
	}
	if err := v.compile(document); err != nil {
		return nil, err
	}
	return v, nil
}

// Document is the parsed document.
func (v *Validator) Document() *openapi3.T { return v.doc }

// compile compiles every schema of the document that a request or an answer is checked
// against, each addressed by its JSON pointer inside the document so that references
// resolve as the document means them.
func (v *Validator) compile(document []byte) error {
	var tree any
	if err := yaml.Unmarshal(document, &tree); err != nil {
		return fmt.Errorf("apidoc: read the document as data: %w", err)
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return fmt.Errorf("apidoc: the document as JSON: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("apidoc: the document as JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	// Addresses are checked by the service's own rules; the document only says which
	// member holds one (idn-email where an internationalised domain is accepted).
	for _, name := range []string{"email", "idn-email"} {
		c.RegisterFormat(&jsonschema.Format{Name: name, Validate: func(x any) error {
			if s, ok := x.(string); ok && !strings.Contains(s, "@") {
				return errors.New("not an e-mail address")
			}
			return nil
		}})
	}
	if err := c.AddResource(docURL, inst); err != nil {
		return fmt.Errorf("apidoc: add the document: %w", err)
	}
	get := func(ptr string) (*jsonschema.Schema, error) {
		s, err := c.Compile(docURL + ptr)
		if err != nil {
			return nil, fmt.Errorf("apidoc: compile %s: %w", ptr, err)
		}
		return s, nil
	}

	content := func(base string, cs openapi3.Content) error {
		for media, mt := range cs {
			if mt == nil || mt.Schema == nil || !isJSON(media) {
				continue
			}
			s, err := get(base + "/content/" + escape(media) + "/schema")
			if err != nil {
				return err
			}
			v.bodies[mt] = s
		}
		return nil
	}
	response := func(base string, ref *openapi3.ResponseRef) error {
		base = at(ref.Ref, base)
		for name, h := range ref.Value.Headers {
			if h.Value.Schema == nil {
				continue
			}
			s, err := get(at(h.Ref, base+"/headers/"+escape(name)) + "/schema")
			if err != nil {
				return err
			}
			v.headers[h.Value] = s
		}
		return content(base, ref.Value.Content)
	}
	params := func(base string, ps openapi3.Parameters) error {
		for i, p := range ps {
			if p.Value.Schema == nil {
				continue
			}
			s, err := get(at(p.Ref, base+"/parameters/"+strconv.Itoa(i)) + "/schema")
			if err != nil {
				return err
			}
			v.params[p.Value] = s
		}
		return nil
	}

	for path, item := range v.doc.Paths.Map() {
		pbase := "#/paths/" + escape(path)
		if err := params(pbase, item.Parameters); err != nil {
			return err
		}
		for method, op := range item.Operations() {
			obase := pbase + "/" + strings.ToLower(method)
			if err := params(obase, op.Parameters); err != nil {
				return err
			}
			if rb := op.RequestBody; rb != nil {
				if err := content(at(rb.Ref, obase+"/requestBody"), rb.Value.Content); err != nil {
					return err
				}
			}
			for code, ref := range op.Responses.Map() {
				if err := response(obase+"/responses/"+escape(code), ref); err != nil {
					return err
				}
			}
		}
	}
	var mna *openapi3.ResponseRef
	if v.doc.Components != nil {
		mna = v.doc.Components.Responses["MethodNotAllowed"]
	}
	if mna == nil || mna.Value == nil {
		return errors.New("apidoc: the document has no components/responses/MethodNotAllowed")
	}
	v.methodNotAllowed = mna.Value
	return response("#/components/responses/MethodNotAllowed", mna)
}

// at is the pointer of an object: where its $ref points, or where it stands.
func at(ref, here string) string {
	if strings.HasPrefix(ref, "#/") {
		return ref
	}
	return here
}

// escape makes a JSON pointer token (RFC 6901).
func escape(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

func isJSON(media string) bool {
	media = strings.ToLower(media)
	return media == "application/json" || strings.HasSuffix(media, "+json")
}

// Error says how a request or an answer differs from the document.
type Error struct {
	Method, Path string
	Status       int // 0 for a request
	Reason       string
	Err          error // the schema validation error, if any
}

func (e *Error) Error() string {
	where := e.Method + " " + e.Path
	if e.Status != 0 {
		where += " → " + strconv.Itoa(e.Status)
	}
	if e.Err != nil {
		return fmt.Sprintf("apidoc: %s: %s: %v", where, e.Reason, e.Err)
	}
	return fmt.Sprintf("apidoc: %s: %s", where, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// Errors for what the document does not describe at all, wrapped by *Error so that a
// caller can tell them apart with errors.Is (a test that asks for a path on purpose
// unknown expects ErrUnknownRoute).
var (
	ErrUnknownRoute  = errors.New("no such route in the document")
	ErrUnknownStatus = errors.New("no such status in the document")
)

// allMethods are tried to tell a known path with a wrong method from an unknown path.
var allMethods = []string{
	http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch,
	http.MethodHead, http.MethodOptions,
}

// find returns the operation for the request; a HEAD request is a GET without a body.
func (v *Validator) find(method string, u *url.URL) (*routers.Route, map[string]string, error) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	probe := &http.Request{Method: method, URL: &url.URL{Path: u.Path, RawPath: u.RawPath}}
	return v.router.FindRoute(probe)
}

// knownPath reports whether some operation of the document has this path.
func (v *Validator) knownPath(u *url.URL) bool {
	for _, m := range allMethods {
		if _, _, err := v.find(m, u); err == nil {
			return true
		}
	}
	return false
}

// ValidateResponse checks an answer against the document: the route (method and path of
// req) must be documented, the status must be documented for it, the documented headers
// must be there and match, and the body must have a documented content type and match
// its schema. An answer with no documented content must have no body. When the status
// is 2xx the request (reqBody) must also be valid by the document: the server accepted
// it, so the document must allow it. It returns nil or an *Error.
func (v *Validator) ValidateResponse(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	fail := func(reason string, err error) error {
		return &Error{Method: req.Method, Path: req.URL.Path, Status: status, Reason: reason, Err: err}
	}
	route, _, err := v.find(req.Method, req.URL)
	var resp *openapi3.Response
	switch {
	case err == nil:
		ref := route.Operation.Responses.Status(status)
		if ref == nil {
			ref = route.Operation.Responses.Default()
		}
		if ref == nil {
			return fail("status "+strconv.Itoa(status)+" is not documented for this operation (documented: "+documented(route.Operation)+")", ErrUnknownStatus)
		}
		resp = ref.Value
	case status == http.StatusMethodNotAllowed && v.knownPath(req.URL):
		resp = v.methodNotAllowed
	default:
		return fail("the route is not documented", ErrUnknownRoute)
	}

	for _, name := range sortedKeys(resp.Headers) {
		h := resp.Headers[name].Value
		vals := header.Values(name)
		if len(vals) == 0 {
			if h.Required {
				return fail("header "+name+" is missing", nil)
			}
			continue
		}
		if s := v.headers[h]; s != nil {
			if err := s.Validate(strings.Join(vals, ", ")); err != nil {
				return fail("header "+name+" does not match the document", err)
			}
		}
	}

	if req.Method == http.MethodHead {
		return nil // no body to check
	}
	if len(resp.Content) == 0 {
		if len(body) != 0 {
			return fail("the document describes no body, but there is one", nil)
		}
	} else {
		ct := header.Get("Content-Type")
		mt, media := lookupContent(resp.Content, ct)
		if mt == nil {
			return fail(fmt.Sprintf("content type %q is not documented (documented: %s)", ct, strings.Join(sortedKeys(resp.Content), ", ")), nil)
		}
		if s := v.bodies[mt]; s != nil {
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
			if err != nil {
				return fail("the "+media+" body is not JSON", err)
			}
			if err := s.Validate(inst); err != nil {
				return fail("the body does not match the document", err)
			}
		}
	}

	if err == nil && status >= 200 && status < 300 {
		if rerr := v.ValidateRequest(req, reqBody); rerr != nil {
			return fail("the server accepted a request the document calls invalid", rerr)
		}
	}
	return nil
}

// ValidateRequest checks a request against the document: the route must be documented,
// the parameters it declares must be present when required and match their schemas, a
// bearer token must be sent where the operation requires one, and the body must have a
// documented content type and match its schema. Operations without a request body ignore
// any body. It returns nil or an *Error.
func (v *Validator) ValidateRequest(req *http.Request, body []byte) error {
	fail := func(reason string, err error) error {
		return &Error{Method: req.Method, Path: req.URL.Path, Reason: reason, Err: err}
	}
	route, pathParams, err := v.find(req.Method, req.URL)
	if err != nil {
		return fail("the route is not documented", ErrUnknownRoute)
	}
	op := route.Operation

	params := append(openapi3.Parameters{}, route.PathItem.Parameters...)
	params = append(params, op.Parameters...)
	query := req.URL.Query()
	for _, ref := range params {
		p := ref.Value
		var val string
		var ok bool
		switch p.In {
		case openapi3.ParameterInPath:
			val, ok = pathParams[p.Name]
			if ok {
				if u, err := url.PathUnescape(val); err == nil {
					val = u
				}
			}
		case openapi3.ParameterInQuery:
			ok = query.Has(p.Name)
			val = query.Get(p.Name)
		case openapi3.ParameterInHeader:
			vals := req.Header.Values(p.Name)
			ok = len(vals) > 0
			val = strings.Join(vals, ", ")
		}
		if !ok {
			if p.Required {
				return fail(p.In+" parameter "+p.Name+" is missing", nil)
			}
			continue
		}
		if s := v.params[p]; s != nil {
			if err := s.Validate(val); err != nil {
				return fail(p.In+" parameter "+p.Name+" does not match the document", err)
			}
		}
	}

	if needsBearer(v.doc, op) {
		h := req.Header.Get("Authorization")
		if len(h) <= 7 || !strings.EqualFold(h[:7], "bearer ") {
			return fail("the operation needs Authorization: Bearer", nil)
		}
	}

	rb := op.RequestBody
	if rb == nil || req.Method == http.MethodHead {
		return nil
	}
	if len(body) == 0 {
		if rb.Value.Required {
			return fail("the request body is missing", nil)
		}
		return nil
	}
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		// The functions read every body as JSON, whatever the header says.
		ct = "application/json"
	}
	mt, media := lookupContent(rb.Value.Content, ct)
	if mt == nil {
		return fail(fmt.Sprintf("request content type %q is not documented (documented: %s)", ct, strings.Join(sortedKeys(rb.Value.Content), ", ")), nil)
	}
	if s := v.bodies[mt]; s != nil {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			return fail("the "+media+" request body is not JSON", err)
		}
		if err := s.Validate(inst); err != nil {
			return fail("the request body does not match the document", err)
		}
	}
	return nil
}

// needsBearer reports whether every way to satisfy the operation's security is an HTTP
// bearer scheme (an empty requirement, `security: []`, needs nothing).
func needsBearer(doc *openapi3.T, op *openapi3.Operation) bool {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	if len(reqs) == 0 {
		return false
	}
	for _, r := range reqs {
		if len(r) == 0 {
			return false
		}
		for name := range r {
			var s *openapi3.SecuritySchemeRef
			if doc.Components != nil {
				s = doc.Components.SecuritySchemes[name]
			}
			if s == nil || s.Value == nil || s.Value.Type != "http" || !strings.EqualFold(s.Value.Scheme, "bearer") {
				return false
			}
		}
	}
	return true
}

// lookupContent finds the documented media type for a Content-Type header: exact, then
// "type/*", then "*/*". Media types compare case-insensitively and without parameters.
func lookupContent(c openapi3.Content, contentType string) (*openapi3.MediaType, string) {
	media, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, ""
	}
	major, _, _ := strings.Cut(media, "/")
	for _, want := range []string{media, major + "/*", "*/*"} {
		for k, mt := range c {
			if strings.EqualFold(k, want) {
				return mt, k
			}
		}
	}
	return nil, ""
}

func documented(op *openapi3.Operation) string {
	return strings.Join(sortedKeys(op.Responses.Map()), ", ")
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
