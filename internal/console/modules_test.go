package console_test

// Checks of the console's modules that need no browser: the message tables, the typedefs
// of the API's answers and of config.js, and the poll intervals the browser tests assume.
// They read the files as written (the console has no build step), so each parser refuses a
// line it does not understand rather than skip it.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/adhoc-support/adhoc-support/api"
	"github.com/adhoc-support/adhoc-support/internal/console"
)

const modulesDir = "static/console"

func readModule(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(modulesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// message is one entry of a table in i18n.js.
type message struct {
	text string
	line int
}

var (
	// messageLine is the one shape an entry of a table has: `  key: "text",`.
	messageLine = regexp.MustCompile(`^  ([A-Za-z][A-Za-z0-9_]*): "((?:[^"\\]|\\.)*)",$`)
	placeholder = regexp.MustCompile(`\{(\w+)\}`)
)

// messageTable reads the object literal `const <name> = {` … `};` of i18n.js.
func messageTable(t *testing.T, src, name string) map[string]message {
	t.Helper()
	lines := strings.Split(src, "\n")
	start := slices.Index(lines, "const "+name+" = {")
	if start < 0 {
		t.Fatalf("i18n.js has no line %q", "const "+name+" = {")
	}
	table := map[string]message{}
	for i := start + 1; i < len(lines); i++ {
		l := lines[i]
		switch {
		case l == "};":
			if len(table) == 0 {
				t.Fatalf("i18n.js: the table %s is empty", name)
			}
			return table
		case strings.TrimSpace(l) == "", strings.HasPrefix(strings.TrimSpace(l), "//"):
			continue
		}
		m := messageLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("i18n.js:%d: not a `  key: \"text\",` line of the table %s: %q", i+1, name, l)
		}
		text, err := strconv.Unquote(`"` + m[2] + `"`)
		if err != nil {
			t.Fatalf("i18n.js:%d: %v", i+1, err)
		}
		if prev, dup := table[m[1]]; dup {
			// In an object literal the later one wins without a word.
			t.Errorf("i18n.js:%d: %s.%s again (first on line %d)", i+1, name, m[1], prev.line)
		}
		table[m[1]] = message{text: text, line: i + 1}
	}
	t.Fatalf("i18n.js: the table %s does not end with a line `};`", name)
	return nil
}

func placeholders(s string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// compareTables reports what differs between the English and the German table: a key in
// one only, or a text whose {placeholders} the other's lacks.
func compareTables(en, de map[string]message) []string {
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(en)) {
		d, ok := de[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s (line %d) is missing in de", k, en[k].line))
			continue
		}
		if pe, pd := placeholders(en[k].text), placeholders(d.text); !slices.Equal(pe, pd) {
			problems = append(problems, fmt.Sprintf("%s: en has the placeholders %v (line %d), de %v (line %d)", k, pe, en[k].line, pd, d.line))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(de)) {
		if _, ok := en[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s (line %d) is missing in en", k, de[k].line))
		}
	}
	return problems
}

var (
	// keyCall is a call that takes a message key as its first argument: t("key", …), the
	// page title title("key"), the sign-in notice setNotice("key").
	keyCall = regexp.MustCompile(`\b(?:t|title|setNotice)\(\s*"([^"]*)"`)
	// keyChoice is a key chosen in the call: t(cond ? "one" : "other").
	keyChoice = regexp.MustCompile(`\bt\([^(),"]*\?\s*"([^"]+)"\s*:\s*"([^"]+)"\s*\)`)
)

// usedKeys are the keys the modules other than i18n.js name literally, with where. Keys
// put together at run time (`status_${…}`) and lists of keys are the type check's part:
// t() takes only the type Key (make lint-js).
func usedKeys(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(modulesDir, "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string][]string{}
	for _, f := range files {
		name := filepath.Base(f)
		if name == "i18n.js" {
			continue
		}
		for i, line := range strings.Split(readModule(t, name), "\n") {
			at := fmt.Sprintf("%s:%d", name, i+1)
			for _, m := range keyCall.FindAllStringSubmatch(line, -1) {
				if m[1] != "" { // setNotice("", text): no key
					used[m[1]] = append(used[m[1]], at)
				}
			}
			for _, m := range keyChoice.FindAllStringSubmatch(line, -1) {
				used[m[1]] = append(used[m[1]], at)
				used[m[2]] = append(used[m[2]], at)
			}
		}
	}
	return used
}

// TestMessageTables: English and German have the same keys with the same placeholders,
// and every key the code names is in both.
func TestMessageTables(t *testing.T) {
	src := readModule(t, "i18n.js")
	en, de := messageTable(t, src, "en"), messageTable(t, src, "de")
	for _, p := range compareTables(en, de) {
		t.Error(p)
	}
	used := usedKeys(t)
	// The console names well over a hundred keys; far fewer means the scan broke.
	if len(used) < 100 {
		t.Fatalf("found only %d keys in the modules' t() calls: the scan does not match the code any more", len(used))
	}
	for _, k := range slices.Sorted(maps.Keys(used)) {
		for lang, table := range map[string]map[string]message{"en": en, "de": de} {
			if _, ok := table[k]; !ok {
				t.Errorf("%s uses the key %q, which %s lacks", strings.Join(used[k], ", "), k, lang)
			}
		}
	}
}

// TestMessageTablesCheck shows that the comparison fails on what it is there to find.
func TestMessageTablesCheck(t *testing.T) {
	en := map[string]message{"a": {text: "A {x}", line: 1}, "b": {text: "B", line: 2}, "c": {text: "C {n}", line: 3}}
	tests := []struct {
		name string
		de   map[string]message
		want []string
	}{
		{"same", map[string]message{"a": {text: "Ä {x}"}, "b": {text: "Bé"}, "c": {text: "{n} C"}}, nil},
		{"missing in de", map[string]message{"a": {text: "Ä {x}"}, "c": {text: "C {n}"}}, []string{"b (line 2) is missing in de"}},
		{"missing in en", map[string]message{"a": {text: "Ä {x}"}, "b": {text: "B"}, "c": {text: "C {n}"}, "d": {text: "D", line: 9}}, []string{"d (line 9) is missing in en"}},
		{"placeholder lost", map[string]message{"a": {text: "Ä", line: 7}, "b": {text: "B"}, "c": {text: "C {n}"}}, []string{"a: en has the placeholders [x] (line 1), de [] (line 7)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := compareTables(en, tc.de); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// typedef is a JSDoc typedef of api.js: an object's properties (optional ones in
// brackets), or a union of strings.
type typedef struct {
	props   map[string]bool // name → optional
	strings []string
	line    int
}

var (
	typedefLine  = regexp.MustCompile(`^ \* @typedef \{(.+)\} (\w+)$`)
	propertyLine = regexp.MustCompile(`^ \* @property \{.+?\} (\[?)(\w+)\]?(?: .*)?$`)
	unionMember  = regexp.MustCompile(`^"(\w+)"$`)
)

// apiTypedefs reads the typedefs of api.js.
func apiTypedefs(t *testing.T) map[string]*typedef {
	t.Helper()
	defs := map[string]*typedef{}
	var cur *typedef
	for i, l := range strings.Split(readModule(t, "api.js"), "\n") {
		if m := typedefLine.FindStringSubmatch(l); m != nil {
			cur = &typedef{line: i + 1}
			defs[m[2]] = cur
			if m[1] == "object" {
				cur.props = map[string]bool{}
				continue
			}
			for _, s := range strings.Split(m[1], "|") {
				u := unionMember.FindStringSubmatch(strings.TrimSpace(s))
				if u == nil {
					t.Fatalf("api.js:%d: typedef %s: want {object} or a union of strings", i+1, m[2])
				}
				cur.strings = append(cur.strings, u[1])
			}
			cur = nil // a union has no properties
			continue
		}
		if strings.Contains(l, "@property") {
			m := propertyLine.FindStringSubmatch(l)
			if m == nil || cur == nil {
				t.Fatalf("api.js:%d: a @property outside an object typedef, or one this test cannot read: %q", i+1, l)
			}
			cur.props[m[2]] = m[1] == "["
			continue
		}
		if strings.HasPrefix(l, " */") {
			cur = nil
		}
	}
	if len(defs) == 0 {
		t.Fatal("api.js has no typedefs")
	}
	return defs
}

// schema is what the test compares of a components/schemas entry of api/openapi.yaml.
type schema struct {
	Properties map[string]yaml.Node `yaml:"properties"`
	Required   []string             `yaml:"required"`
	Enum       []string             `yaml:"enum"`
}

// TestTypedefsMatchOpenAPI: every typedef of api.js is the schema of the same name in
// api/openapi.yaml, with the same properties, the same optional ones and the same strings.
func TestTypedefsMatchOpenAPI(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]schema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	defs := apiTypedefs(t)
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		d := defs[name]
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("api.js:%d: typedef %s: api/openapi.yaml has no schema %s", d.line, name, name)
			continue
		}
		if d.props == nil {
			if got, want := slices.Sorted(slices.Values(d.strings)), slices.Sorted(slices.Values(s.Enum)); !slices.Equal(got, want) {
				t.Errorf("api.js:%d: %s is %v, the schema's enum %v", d.line, name, got, want)
			}
			continue
		}
		want := map[string]bool{}
		for p := range s.Properties {
			want[p] = !slices.Contains(s.Required, p)
		}
		for _, p := range slices.Sorted(maps.Keys(d.props)) {
			optional, ok := want[p]
			switch {
			case !ok:
				t.Errorf("api.js:%d: %s.%s is not in the schema", d.line, name, p)
			case optional != d.props[p]:
				t.Errorf("api.js:%d: %s.%s optional %v, in the schema %v", d.line, name, p, d.props[p], optional)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(want)) {
			if _, ok := d.props[p]; !ok {
				t.Errorf("api.js:%d: %s lacks the schema's property %s", d.line, name, p)
			}
		}
	}
}

// declaredConfig reads types/config.d.ts: each field's path ("cognito.domain") and
// whether it is optional.
func declaredConfig(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("types/config.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	field := regexp.MustCompile(`^\s*(\w+)(\??): (.*?)[;{]$`)
	fields := map[string]bool{}
	var path []string // the objects the line is in, below config
	inside := false
	for i, l := range strings.Split(string(b), "\n") {
		switch {
		case l == "declare const config: {":
			inside = true
		case !inside || strings.HasPrefix(strings.TrimSpace(l), "//"):
		case strings.TrimSpace(l) == "};" && len(path) == 0:
			inside = false
		case strings.TrimSpace(l) == "};":
			path = path[:len(path)-1]
		default:
			m := field.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("config.d.ts:%d: cannot read %q", i+1, l)
			}
			fields[strings.Join(append(slices.Clone(path), m[1]), ".")] = m[2] == "?"
			if strings.HasSuffix(l, "{") {
				path = append(path, m[1])
			}
		}
	}
	if len(fields) == 0 {
		t.Fatal("config.d.ts declares no field")
	}
	return fields
}

// servedConfig is the object config.js exports, as paths ("cognito.domain").
func servedConfig(t *testing.T, mode console.Mode, cfg console.Config) map[string]bool {
	t.Helper()
	body := serve(console.Handler(mode, cfg), "GET", "/console/config.js", nil).Body.String()
	_, js, ok := strings.Cut(body, "export default ")
	if !ok {
		t.Fatalf("config.js: %q", body)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(js), ";")), &v); err != nil {
		t.Fatalf("config.js: %v: %q", err, body)
	}
	paths := map[string]bool{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, val := range m {
			paths[prefix+k] = true
			if sub, ok := val.(map[string]any); ok {
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", v)
	return paths
}

// TestConfigDeclaration: types/config.d.ts, which the type check reads for config.js,
// declares what the handler writes: every field, optional where one may be left out.
func TestConfigDeclaration(t *testing.T) {
	declared := declaredConfig(t)
	full := servedConfig(t, console.AWS, console.Config{
		CognitoDomain: awsConfig.CognitoDomain, ClientID: awsConfig.ClientID,
		RedirectURI: "https://console.example.com/", LogoutURI: "https://example.com/bye",
	})
	if got, want := slices.Sorted(maps.Keys(declared)), slices.Sorted(maps.Keys(full)); !slices.Equal(got, want) {
		t.Errorf("config.d.ts declares %v; config.js has %v", got, want)
	}
	// A field some deployment leaves out of its object must be optional, and only such a
	// one (cognito.domain is there whenever cognito is).
	sometimes := map[string]bool{}
	for _, c := range []map[string]bool{servedConfig(t, console.Local, console.Config{}), servedConfig(t, console.AWS, awsConfig)} {
		for p := range full {
			parent, _, nested := strings.Cut(p, ".")
			if !c[p] && (!nested || c[parent]) {
				sometimes[p] = true
			}
		}
	}
	for p, optional := range declared {
		if optional != sometimes[p] {
			t.Errorf("config.d.ts: %s optional %v, but config.js leaves it out sometimes: %v", p, optional, sometimes[p])
		}
	}
}

// TestPollIntervals: the intervals of page.js are the ones the live browser tests wait
// longer than (setUpPoll, listPoll) to show that no poll fired.
func TestPollIntervals(t *testing.T) {
	src := readModule(t, "page.js")
	for name, want := range map[string]time.Duration{"pollMs": setUpPoll, "listPollMs": listPoll} {
		m := regexp.MustCompile(`(?m)^export const ` + name + ` = (\d+);`).FindStringSubmatch(src)
		if m == nil {
			t.Errorf("page.js has no line `export const %s = <ms>;`", name)
			continue
		}
		if ms, _ := strconv.Atoi(m[1]); time.Duration(ms)*time.Millisecond != want {
			t.Errorf("page.js: %s = %s ms, the browser tests assume %v", name, m[1], want)
		}
	}
}
