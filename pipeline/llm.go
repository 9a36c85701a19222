package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/oracle"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/trajectory"
)

// chatter is what the stages need of an LLM role.
type chatter interface {
	Chat(ctx context.Context, req openai.ChatCompletionRequest) (llm.Reply, error)
	Model() string
}

// limited bounds the calls in flight to one endpoint.
type limited struct {
	next chatter
	sem  chan struct{}
}

func (l limited) Chat(ctx context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return llm.Reply{}, ctx.Err()
	}
	defer func() { <-l.sem }()
	return l.next.Chat(ctx, req)
}

func (l limited) Model() string { return l.next.Model() }

// client returns the LLM client of a role, starting the built-in oracle the
// first time a role without a configured endpoint is asked for.
func (r *Runner) client(ctx context.Context, role string) (chatter, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[role]; ok {
		return c, nil
	}
	ep := r.cfg.Endpoint(role)
	base := ep.BaseURL
	if base == "" {
		if r.oracle == nil {
			srv, err := oracle.Start(ctx, oracle.Config{
				Keys:       r.keys,
				ErrorRate:  r.cfg.LLM.Oracle.ErrorRate,
				DetourRate: r.cfg.LLM.Oracle.DetourRate,
				Delay:      r.cfg.LLM.Oracle.Delay,
			}, "")
			if err != nil {
				return nil, fmt.Errorf("start built-in oracle: %w", err)
			}
			r.oracle = srv
			r.log.Info("started built-in oracle LLM", "url", srv.URL())
		}
		base = r.oracle.URL()
	}
	c := limited{
		next: llm.New(role, llm.Endpoint{
			BaseURL:    base,
			Model:      ep.Model,
			APIKey:     r.cfg.APIKey(role),
			Timeout:    ep.Timeout,
			MaxRetries: ep.MaxRetries,
		}),
		sem: make(chan struct{}, max(ep.Concurrency, 1)),
	}
	r.clients[role] = c
	r.manifest.Models[role] = ep.Model
	return c, nil
}

// answerKeys hands the oracle the path of each kept question, so the
// scripted teacher can walk it. Real endpoints never see it.
type answerKeys struct {
	mu sync.RWMutex
	m  map[string]oracle.Solution
}

func newAnswerKeys() *answerKeys { return &answerKeys{m: map[string]oracle.Solution{}} }

func (k *answerKeys) set(question string, s oracle.Solution) {
	k.mu.Lock()
	k.m[question] = s
	k.mu.Unlock()
}

// Lookup implements oracle.Keys.
func (k *answerKeys) Lookup(firstUserMessage string) (oracle.Solution, bool) {
	q, ok := trajectory.QuestionFromPrompt(firstUserMessage)
	if !ok {
		return oracle.Solution{}, false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	s, ok := k.m[q]
	return s, ok
}

// LoadAnswerKeys reads the kept questions of an output root, for an oracle
// served on its own (`miroverse oracle serve --root`).
func LoadAnswerKeys(ctx context.Context, root string) (oracle.Keys, int, error) {
	st, err := OpenState(ctx, filepath.Join(root, "state.db"))
	if err != nil {
		return nil, 0, err
	}
	defer st.Close()
	keys := newAnswerKeys()
	n := 0
	err = st.Each(ctx, StageQA, func(rec Record) error {
		var it qa.Item
		if err := json.Unmarshal(rec.Payload, &it); err != nil {
			return fmt.Errorf("read question %s: %w", rec.ID, err)
		}
		if it.Status == qa.StatusKept {
			keys.set(it.Question, solutionOf(it))
			n++
		}
		return nil
	})
	return keys, n, err
}
