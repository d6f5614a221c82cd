package apidoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"

	"github.com/adhoc-support/adhoc-support/api"
)

// asyncURL names the AsyncAPI document inside the schema compiler.
const asyncURL = "urn:adhoc-support:asyncapi"

// LiveValidator checks live-channel messages against the AsyncAPI 3.0 document
// (api/asyncapi.yaml): what the server sends (operations with action "send") is found by
// its "type", what clients send (action "receive") by its "action", each message by its
// name.
type LiveValidator struct {
	server map[string]*jsonschema.Schema // by type
	client map[string]*jsonschema.Schema // by action
	// Examples are every message example of the document with the direction it goes.
	Examples []LiveExample
}

// LiveExample is one example of the document.
type LiveExample struct {
	Message string
	Server  bool
	Payload json.RawMessage
}

var (
	liveOnce   sync.Once
	liveLoaded *LiveValidator
	liveErr    error
)

// LoadLive returns the validator for the embedded AsyncAPI document, built once.
func LoadLive() (*LiveValidator, error) {
	liveOnce.Do(func() { liveLoaded, liveErr = NewLive(api.AsyncAPI) })
	return liveLoaded, liveErr
}

// asyncDoc is the part of an AsyncAPI 3.0 document the validator reads.
type asyncDoc struct {
	AsyncAPI   string                    `json:"asyncapi"`
	Channels   map[string]asyncChannel   `json:"channels"`
	Operations map[string]asyncOperation `json:"operations"`
	Components struct {
		Messages map[string]asyncMessage `json:"messages"`
		Schemas  map[string]any          `json:"schemas"`
	} `json:"components"`
}

type ref struct {
	Ref string `json:"$ref"`
}

type asyncChannel struct {
	Address  string         `json:"address"`
	Messages map[string]ref `json:"messages"`
}

type asyncOperation struct {
	Action   string `json:"action"`
	Channel  ref    `json:"channel"`
	Messages []ref  `json:"messages"`
}

type asyncMessage struct {
	Name     string `json:"name"`
	Payload  ref    `json:"payload"`
	Examples []struct {
		Payload json.RawMessage `json:"payload"`
	} `json:"examples"`
}

// NewLive builds a validator for an AsyncAPI document in YAML or JSON. It checks the
// document's structure as far as the product uses it: version 3.0, every reference
// resolves, every operation's messages belong to its channel, every payload schema
// compiles (JSON Schema draft 7, AsyncAPI's schema format), and no two messages going the
// same way share a name.
func NewLive(document []byte) (*LiveValidator, error) {
	var tree any
	if err := yaml.Unmarshal(document, &tree); err != nil {
		return nil, fmt.Errorf("apidoc: read the AsyncAPI document: %w", err)
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("apidoc: the AsyncAPI document as JSON: %w", err)
	}
	var doc asyncDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("apidoc: the AsyncAPI document's structure: %w", err)
	}
	if !strings.HasPrefix(doc.AsyncAPI, "3.0.") {
		return nil, fmt.Errorf("apidoc: the document is AsyncAPI %q, want 3.0", doc.AsyncAPI)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("apidoc: the AsyncAPI document as JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	if err := c.AddResource(asyncURL, inst); err != nil {
		return nil, fmt.Errorf("apidoc: add the AsyncAPI document: %w", err)
	}

	message := func(r ref) (string, asyncMessage, error) {
		// A channel's message refers to components/messages; an operation's to the
		// channel's message.
		const comp = "#/components/messages/"
		if name, ok := strings.CutPrefix(r.Ref, comp); ok {
			m, found := doc.Components.Messages[name]
			if !found {
				return "", asyncMessage{}, fmt.Errorf("no message %s", r.Ref)
			}
			return name, m, nil
		}
		return "", asyncMessage{}, fmt.Errorf("message reference %q is not to %s…", r.Ref, comp)
	}
	v := &LiveValidator{server: map[string]*jsonschema.Schema{}, client: map[string]*jsonschema.Schema{}}
	compiled := map[string]*jsonschema.Schema{}
	var errs []error
	ops := make([]string, 0, len(doc.Operations))
	for name := range doc.Operations {
		ops = append(ops, name)
	}
	sort.Strings(ops)
	for _, opName := range ops {
		op := doc.Operations[opName]
		chName, ok := strings.CutPrefix(op.Channel.Ref, "#/channels/")
		ch, found := doc.Channels[chName]
		if !ok || !found {
			errs = append(errs, fmt.Errorf("operation %s: no channel %q", opName, op.Channel.Ref))
			continue
		}
		if op.Action != "send" && op.Action != "receive" {
			errs = append(errs, fmt.Errorf("operation %s: action %q, want send or receive", opName, op.Action))
			continue
		}
		for _, mr := range op.Messages {
			key, ok := strings.CutPrefix(mr.Ref, "#/channels/"+chName+"/messages/")
			chMsg, found := ch.Messages[key]
			if !ok || !found {
				errs = append(errs, fmt.Errorf("operation %s: message %q is not one of channel %s", opName, mr.Ref, chName))
				continue
			}
			id, m, err := message(chMsg)
			if err != nil {
				errs = append(errs, fmt.Errorf("channel %s: %w", chName, err))
				continue
			}
			schema, ok := compiled[id]
			if !ok {
				if !strings.HasPrefix(m.Payload.Ref, "#/components/schemas/") {
					errs = append(errs, fmt.Errorf("message %s: payload %q is not a components/schemas reference", id, m.Payload.Ref))
					continue
				}
				if schema, err = c.Compile(asyncURL + m.Payload.Ref); err != nil {
					errs = append(errs, fmt.Errorf("message %s: %w", id, err))
					continue
				}
				compiled[id] = schema
				for _, ex := range m.Examples {
					v.Examples = append(v.Examples, LiveExample{Message: id, Server: op.Action == "send", Payload: ex.Payload})
				}
			}
			into := v.client
			if op.Action == "send" {
				into = v.server
			}
			if prev, dup := into[m.Name]; dup && prev != schema {
				errs = append(errs, fmt.Errorf("two messages named %q go the same way", m.Name))
			}
			into[m.Name] = schema
		}
	}
	if len(v.server) == 0 || len(v.client) == 0 {
		errs = append(errs, errors.New("the document has no messages one way or the other"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("apidoc: the AsyncAPI document: %w", errors.Join(errs...))
	}
	return v, nil
}

// ValidateServerMessage checks a message the server sent.
func (v *LiveValidator) ValidateServerMessage(data []byte) error {
	return v.validate(data, "type", v.server)
}

// ValidateClientMessage checks a message a client sends.
func (v *LiveValidator) ValidateClientMessage(data []byte) error {
	return v.validate(data, "action", v.client)
}

func (v *LiveValidator) validate(data []byte, key string, by map[string]*jsonschema.Schema) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	obj, ok := inst.(map[string]any)
	if !ok {
		return errors.New("not a JSON object")
	}
	name, _ := obj[key].(string)
	schema, ok := by[name]
	if !ok {
		return fmt.Errorf("%s %q is not in api/asyncapi.yaml", key, name)
	}
	if err := schema.Validate(inst); err != nil {
		return fmt.Errorf("%s %q: %w", key, name, err)
	}
	return nil
}
