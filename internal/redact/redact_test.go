package redact

import "testing"

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bolt://127.0.0.1:7687", "bolt://127.0.0.1:7687"},
		{"neo4j://neo4j:s3cret@db.example:7687?policy=x", "neo4j://db.example:7687"},
		{"https://user:pw@api.example/v1?api_key=k#frag", "https://api.example/v1"},
		{"http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"},
		{"not a uri s3cret@host", "…@host"},
		{"host:bad port?key=s3cret", "host:bad port"},
		{"%zz://u:s3cret@h", "…@h"},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"status 401: Incorrect API key provided: sk-proj-****abcd.", "status 401: Incorrect API key provided: [REDACTED]"},
		{"Authorization: Bearer abc.def-123", "Authorization: [REDACTED]"},
		{"GET /v1?api_key=s3cret&x=1", "GET /v1?[REDACTED]&x=1"},
		{"dial http://u:s3cret@host:1/v1", "dial http://[REDACTED]@host:1/v1"},
		{"connection refused", "connection refused"},
	} {
		if got := Secrets(tc.in); got != tc.want {
			t.Errorf("Secrets(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
