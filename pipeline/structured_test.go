package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/pipeline/oracle"
)

// exchange is one request of a JSON-replying role and the reply it got.
type exchange struct {
	role   string
	format json.RawMessage // the request's response_format as sent
	reply  string          // the reply's content
}

// startRecordingOracle is an oracle started on its own behind a proxy that
// keeps every request's response_format and the reply's content.
func startRecordingOracle(t *testing.T) (string, func() []exchange) {
	t.Helper()
	srv, err := oracle.Start(t.Context(), oracle.Config{}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(t.Context()) })
	target, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []exchange
	)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var reply openai.ChatCompletionResponse
		if json.Unmarshal(body, &reply) != nil || len(reply.Choices) == 0 {
			return nil
		}
		ex := resp.Request.Context().Value(exchangeKey{}).(*exchange)
		ex.reply = reply.Choices[0].Message.Content
		mu.Lock()
		got = append(got, *ex)
		mu.Unlock()
		return nil
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			Format json.RawMessage `json:"response_format"`
		}
		_ = json.Unmarshal(body, &req)
		ex := &exchange{role: r.Header.Get(llm.RoleHeader), format: req.Format}
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex)))
	}))
	t.Cleanup(front.Close)
	return front.URL + "/v1", func() []exchange {
		mu.Lock()
		defer mu.Unlock()
		return append([]exchange(nil), got...)
	}
}

type exchangeKey struct{}

// TestStructuredRepliesMatchTheirSchemas runs the qa, synthesize and judge
// stages with the JSON-replying roles on an oracle behind a recorder: every
// writer, verifier and grader request carries its reply's JSON Schema in
// the form the role's structured_output asks for, and every reply the
// oracle gave validates against it (so the schemas describe what the
// parsers read, and nothing a right reply would break).
func TestStructuredRepliesMatchTheirSchemas(t *testing.T) {
	tests := []struct {
		name, mode string
	}{
		{"json_schema", llm.FormatJSONSchema},
		{"json_object", llm.FormatJSONObject},
		{"off", llm.FormatOff},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, exchanges := startRecordingOracle(t)
			ctx := t.Context()
			cfg := DefaultConfig()
			cfg.Input.Paths = []string{filepath.Join("..", "corpus", "demo", "demowiki-pages-articles.xml")}
			cfg.Sample.Walks = 8
			cfg.Synthesize.PythonTools = false
			cfg.Synthesize.Rollouts = 4
			// The schemas, not the chain gates, are under test: keep questions.
			cfg.QA.Verify.MaskedHop, cfg.QA.Verify.SingleClause = false, false
			ep := EndpointConfig{BaseURL: base, StructuredOutput: tc.mode}
			cfg.LLM.Roles = map[string]EndpointConfig{llm.RoleWriter: ep, llm.RoleVerifier: ep, llm.RoleGrader: ep}
			cfg.Judge.F1Threshold = 1.01   // every verdict that is not an exact match goes to the grader
			cfg.LLM.Oracle.ErrorRate = 0.5 // and half the agent's answers are wrong
			r, err := Open(ctx, cfg, t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, step := range []func() error{
				func() error { return r.Ingest(ctx, cfg.Input.Paths) }, func() error { return r.Sample(ctx) },
				func() error { return r.QA(ctx) }, func() error { return r.Synthesize(ctx) }, func() error { return r.Judge(ctx) },
			} {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			perRole := map[string]int{}
			for _, ex := range exchanges() {
				perRole[ex.role]++
				if tc.mode == llm.FormatOff {
					if len(ex.format) != 0 {
						t.Fatalf("%s request with structured_output off sent response_format %s", ex.role, ex.format)
					}
					continue
				}
				schema := schemaOf(t, ex, tc.mode)
				var v any
				if err := json.Unmarshal([]byte(ex.reply), &v); err != nil {
					t.Fatalf("%s reply %q is not JSON: %v", ex.role, ex.reply, err)
				}
				if err := schema.Validate(v); err != nil {
					t.Errorf("%s reply %q does not match the schema it was asked for: %v", ex.role, ex.reply, err)
				}
			}
			t.Logf("%s: structured requests per role %v", tc.mode, perRole)
			for _, role := range []string{llm.RoleWriter, llm.RoleVerifier, llm.RoleGrader} {
				if perRole[role] == 0 {
					t.Errorf("no %s request reached the recorder", role)
				}
			}
		})
	}
}

// schemaOf compiles the JSON Schema a request asked for, checking that the
// response_format has the form mode sends.
func schemaOf(t *testing.T, ex exchange, mode string) *jsonschema.Schema {
	t.Helper()
	var f struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(ex.format, &f); err != nil || f.Type != mode {
		t.Fatalf("%s request: response_format %s, want type %s", ex.role, ex.format, mode)
	}
	raw := f.Schema
	if mode == llm.FormatJSONSchema {
		if f.JSONSchema.Name == "" || !f.JSONSchema.Strict {
			t.Fatalf("%s request: json_schema %s wants a name and strict", ex.role, ex.format)
		}
		raw = f.JSONSchema.Schema
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("%s request: schema %s: %v", ex.role, raw, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("reply.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("reply.json")
	if err != nil {
		t.Fatalf("%s request: schema %s does not compile: %v", ex.role, raw, err)
	}
	return s
}
