package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/miroverse/miroverse/internal/blobroot"
	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/internal/redact"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/trajectory/react"
)

// client returns the LLM client of a role, starting the built-in oracle the
// first time a role without a configured endpoint is asked for.
//
// Roles on the same endpoint (base URL and model; the built-in oracle is one
// endpoint) share one adaptive limiter: a 429 or 503 speaks for the server
// (or the key's quota), not for the role that happened to receive it. Its
// ceiling is the largest `concurrency` of those roles; it halves on overload
// and creeps back up on success (llm.Limiter).
func (r *Runner) client(ctx context.Context, role string) (llm.Chatter, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[role]; ok {
		return c, nil
	}
	ep := r.cfg.Endpoint(role)
	base := ep.BaseURL
	if base == "" {
		if r.oracle == nil {
			faults, err := r.cfg.faults()
			if err != nil {
				return nil, fmt.Errorf("start built-in oracle: %w", err)
			}
			faults.Log = r.log
			ocfg := oracle.Config{
				ErrorRate:  r.cfg.LLM.Oracle.ErrorRate,
				DetourRate: r.cfg.LLM.Oracle.DetourRate,
				Delay:      r.cfg.LLM.Oracle.Delay,
				Faults:     faults,
			}
			// Set only when present: a nil pointer in the interface would
			// look like keys to the oracle.
			if r.keys != nil {
				ocfg.Keys = r.keys
			}
			if r.memory != nil {
				ocfg.Memory = r.memory
			}
			// The oracle lives as long as the runner (Close stops it), not
			// as long as the stage that happened to start it.
			srv, err := oracle.Start(context.WithoutCancel(ctx), ocfg, "")
			if err != nil {
				return nil, fmt.Errorf("start built-in oracle: %w", err)
			}
			r.oracle = srv
			r.log.Info("started built-in oracle LLM", "url", srv.URL())
			if faults.Rate > 0 {
				r.log.Info("built-in oracle injects faults", "rate", faults.Rate, "kinds", fmt.Sprint(faults.Kinds),
					"max_in_a_row", faults.MaxStreak)
			}
		}
		base = r.oracle.URL()
	}
	var cache *llm.Cache
	if !r.cfg.builtinOracle(role) {
		var err error
		if cache, err = r.cacheLocked(ctx); err != nil {
			return nil, err
		}
	}
	c := llm.New(role, llm.Endpoint{
		BaseURL:    base,
		Model:      ep.Model,
		APIKey:     r.cfg.APIKey(role),
		Timeout:    ep.Timeout,
		MaxRetries: ep.MaxRetries,
		Limiter:    r.limiterLocked(ep, base),
		Stream:     ep.Stream != nil && *ep.Stream,
		MaxTokens:  ep.MaxTokens, TokenLimitField: ep.TokenLimitField, ToolChoice: ep.ToolChoice,
		StructuredOutput: ep.StructuredOutput, Watch: r.watch, Log: r.log, Cache: cache,
	})
	r.clients[role] = c
	r.manifest.Models[role] = ep.Model
	return c, nil
}

// limiterLocked returns the shared limiter of ep's endpoint (reached at
// base), making it on first use. r.mu must be held.
func (r *Runner) limiterLocked(ep EndpointConfig, base string) *llm.Limiter {
	key := ep.BaseURL + "\x00" + ep.Model
	if l, ok := r.limiters[key]; ok {
		return l
	}
	ceiling := 1
	for _, role := range roleNames {
		if o := r.cfg.Endpoint(role); o.BaseURL == ep.BaseURL && o.Model == ep.Model {
			ceiling = max(ceiling, o.Concurrency)
		}
	}
	name := redact.URL(base) + " model " + ep.Model
	if ep.BaseURL == "" {
		name = "built-in oracle"
	}
	l := llm.NewLimiter(name, ceiling, r.log)
	if r.limiters == nil {
		r.limiters = map[string]*llm.Limiter{}
	}
	r.limiters[key] = l
	return l
}

// answerKeys hands the oracle the path of each kept question, so the
// scripted teacher can walk it. Real endpoints never see it.
type answerKeys struct {
	mu sync.RWMutex
	m  map[string]oracle.Solution
}

func newAnswerKeys() *answerKeys { return &answerKeys{m: map[string]oracle.Solution{}} }

// set records the key of a question; on nil (the agent role is no
// built-in oracle) it does nothing.
func (k *answerKeys) set(question string, s oracle.Solution) {
	if k == nil {
		return
	}
	k.mu.Lock()
	k.m[question] = s
	k.mu.Unlock()
}

// Lookup implements oracle.Keys.
func (k *answerKeys) Lookup(firstUserMessage string) (oracle.Solution, bool) {
	q, ok := react.QuestionFromPrompt(firstUserMessage)
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
	dir, ok := blobroot.LocalDir(root)
	if !ok {
		return nil, 0, fmt.Errorf("answer keys come from a local root's state.db; %s is in object storage", root)
	}
	st, err := OpenState(ctx, filepath.Join(dir, "state.db"))
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
