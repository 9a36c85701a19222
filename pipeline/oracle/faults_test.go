package oracle

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
)

const faultTestKey = "sk-fault-test-0123456789abcdef"

// faultClient is the production client with a retry budget, pointed at s.
// Its timeout is short so that a timeout fault costs little, and its
// backoff cap lets a one-second Retry-After through.
func faultClient(s *Server, maxRetries int) *llm.Client {
	return llm.New(llm.RoleClosedBook, llm.Endpoint{
		BaseURL: s.URL(), Model: "oracle", APIKey: faultTestKey,
		Timeout: 2 * time.Second, MaxRetries: maxRetries,
		BackoffBase: time.Millisecond, BackoffCap: 3 * time.Second,
	})
}

func question(i int) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleUser, Content: fmt.Sprintf("Who wrote book number %d?", i)},
	}}
}

// TestEachFaultKindIsRetried: every kind, injected once per request through
// a real server, is retried by the real client, and the call ends with the
// answer a fault-free oracle gives.
func TestEachFaultKindIsRetried(t *testing.T) {
	clean := startOracle(t, Config{})
	want, err := faultClient(clean, 0).Chat(t.Context(), question(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range FaultKinds() {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := startOracle(t, Config{Faults: Faults{Rate: 1, Kinds: []FaultKind{kind}, MaxStreak: 1, Hang: time.Minute, Seed: 1}})
			start := time.Now()
			got, err := faultClient(s, 3).Chat(t.Context(), question(0))
			if err != nil {
				t.Fatalf("%s not got through: %v", kind, err)
			}
			if got.Attempts != 2 {
				t.Errorf("attempts %d, want 2 (one fault, one answer)", got.Attempts)
			}
			if got.Message.Content != want.Message.Content || got.FinishReason != want.FinishReason || got.Usage != want.Usage {
				t.Errorf("reply after a fault differs: %+v, want %+v", got, want)
			}
			if n := s.FaultCounts()[kind]; n != 1 {
				t.Errorf("faults injected %v, want one %s", s.FaultCounts(), kind)
			}
			// A lower bound only: a slow machine can only make it longer.
			if kind == FaultRateLimitRetryAfter && time.Since(start) < time.Second {
				t.Errorf("retried after %v, before the Retry-After of 1s", time.Since(start))
			}
		})
	}
}

// TestFaultsExhaustedRetries: with more faults in a row than the client's
// budget, the call fails with an error naming role and endpoint, without
// the API key.
func TestFaultsExhaustedRetries(t *testing.T) {
	for _, kind := range []FaultKind{FaultServerError, FaultReset, FaultTruncated, FaultEmptyChoices, FaultRateLimit} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := startOracle(t, Config{Faults: Faults{Rate: 1, Kinds: []FaultKind{kind}, MaxStreak: 10}})
			_, err := faultClient(s, 2).Chat(t.Context(), question(1))
			if err == nil {
				t.Fatal("want an error after 3 faults with 2 retries")
			}
			msg := err.Error()
			if strings.Contains(msg, faultTestKey) {
				t.Errorf("error holds the API key: %s", msg)
			}
			for _, want := range []string{llm.RoleClosedBook, s.URL(), "3 attempt"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q: %s", want, msg)
				}
			}
			if n := s.FaultCounts()[kind]; n != 3 {
				t.Errorf("faults %v, want 3 of %s", s.FaultCounts(), kind)
			}
		})
	}
}

// TestPermanentErrorsNotRetried: a 400 (bad request) or 404 (wrong path)
// from the oracle ends the call at the first attempt.
func TestPermanentErrorsNotRetried(t *testing.T) {
	s := startOracle(t, Config{})
	bad := llm.New(llm.RoleWriter, llm.Endpoint{BaseURL: s.URL(), Model: "oracle", MaxRetries: 5, BackoffBase: time.Millisecond})
	_, err := bad.Chat(t.Context(), question(2)) // a writer request without walk facts: 400
	if err == nil || !strings.Contains(err.Error(), "1 attempt") || !strings.Contains(err.Error(), "400") {
		t.Errorf("400: %v", err)
	}
	missing := llm.New(llm.RoleClosedBook, llm.Endpoint{BaseURL: s.URL() + "/nowhere", Model: "oracle", MaxRetries: 5, BackoffBase: time.Millisecond})
	_, err = missing.Chat(t.Context(), question(2))
	if err == nil || !strings.Contains(err.Error(), "1 attempt") || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
}

// TestFaultStreakIsCapped: at rate 1 every request meets exactly MaxStreak
// faults, then its answer; answered once, it is never faulted again.
func TestFaultStreakIsCapped(t *testing.T) {
	kinds := []FaultKind{FaultServerError, FaultRateLimit, FaultUnavailable, FaultEmptyChoices, FaultTruncated, FaultReset}
	s := startOracle(t, Config{Faults: Faults{Rate: 1, Kinds: kinds, MaxStreak: 3}})
	c := faultClient(s, 3)
	for i := range 5 {
		rep, err := c.Chat(t.Context(), question(i))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if rep.Attempts != 4 {
			t.Errorf("request %d: attempts %d, want 4", i, rep.Attempts)
		}
		again, err := c.Chat(t.Context(), question(i))
		if err != nil || again.Attempts != 1 {
			t.Errorf("request %d repeated: attempts %d, err %v; want 1 and nil", i, again.Attempts, err)
		}
	}
}

// TestConcurrentIdenticalRequestsShareTheCap: callers sending the same
// request at once share its fault budget, so none meets more than
// MaxStreak faults and all get through with the client's retries.
func TestConcurrentIdenticalRequestsShareTheCap(t *testing.T) {
	s := startOracle(t, Config{Faults: Faults{Rate: 1, Kinds: []FaultKind{FaultServerError}, MaxStreak: 3}})
	c := faultClient(s, 3)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Chat(t.Context(), question(7)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := s.FaultCounts()[FaultServerError]; n != 3 {
		t.Errorf("faults %d for one request, want 3", n)
	}
}

// TestFaultsAreReproducible: which requests fail, and how often, depends on
// the seed and the requests, not on the run.
func TestFaultsAreReproducible(t *testing.T) {
	pattern := func(seed int64) []int {
		kinds := []FaultKind{FaultServerError, FaultRateLimit, FaultEmptyChoices}
		s := startOracle(t, Config{Faults: Faults{Rate: 0.3, Kinds: kinds, Seed: seed}})
		c := faultClient(s, 3)
		var out []int
		for i := range 40 {
			rep, err := c.Chat(t.Context(), question(i))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			out = append(out, rep.Attempts)
		}
		return out
	}
	a, b, other := pattern(5), pattern(5), pattern(6)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if fmt.Sprint(a) == fmt.Sprint(other) {
		t.Errorf("seeds 5 and 6 fault the same requests: %v", a)
	}
	faulted := 0
	for _, n := range a {
		if n > 1 {
			faulted++
		}
	}
	if faulted == 0 || faulted == len(a) {
		t.Errorf("rate 0.3 faulted %d of %d requests", faulted, len(a))
	}
}

// TestFaultRateIsTheFraction: the fraction of requests faulted at their
// first arrival is close to the rate (the draw is fixed by the seed, so
// this is not a flaky statistic).
func TestFaultRateIsTheFraction(t *testing.T) {
	l := newFaultLayer(nil, Faults{Rate: 0.2, Seed: 42}, DefaultModel)
	const n = 5000
	faulted := 0
	kinds := map[FaultKind]int{}
	for i := range n {
		key := sha256.Sum256(fmt.Appendf(nil, "request %d", i))
		if kind, _, _, ok := l.decide(key); ok {
			faulted++
			kinds[kind]++
		}
	}
	if f := float64(faulted) / n; f < 0.17 || f > 0.23 {
		t.Errorf("faulted fraction %.3f, want about 0.2", f)
	}
	if len(kinds) != len(FaultKinds()) {
		t.Errorf("kinds drawn %v, want all %d", kinds, len(FaultKinds()))
	}
}

func TestParseFaultKinds(t *testing.T) {
	all := len(FaultKinds())
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", all, false},
		{"all", all, false},
		{"429, 503,reset", 3, false},
		{"TIMEOUT", 1, false},
		{"429,teapot", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseFaultKinds(tc.in)
		if (err != nil) != tc.wantErr || len(got) != tc.want {
			t.Errorf("ParseFaultKinds(%q) = %v, %v", tc.in, got, err)
		}
	}
	if err := (Faults{Rate: 0.5, Kinds: []FaultKind{"all"}}).Validate(); err == nil {
		t.Error(`kind "all" accepted by Validate (it is a list keyword, not a kind)`)
	}
	if err := (Faults{Rate: 1.5}).Validate(); err == nil {
		t.Error("rate 1.5 accepted")
	}
	if _, err := Start(context.Background(), Config{Faults: Faults{Rate: 0.1, Kinds: []FaultKind{"teapot"}}}, ""); err == nil {
		t.Error("unknown kind accepted by Start")
	}
}
