package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/miroverse/miroverse/internal/boxed"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/react"
	"github.com/miroverse/miroverse/trajectory/sandbox"
	"github.com/miroverse/miroverse/trajectory/toolset"
	"github.com/miroverse/miroverse/trajectory/verdict"
)

// TrajectoryRow is one rollout as published in trajectories/: the full
// message log with its bookkeeping and, once judged, its verdict.
type TrajectoryRow struct {
	ID               string               `parquet:"id"`
	QAID             string               `parquet:"qa_id"`
	Index            int32                `parquet:"rollout_index"`
	Model            string               `parquet:"model"`
	Mode             string               `parquet:"mode"`
	Seed             int64                `parquet:"seed"`
	Messages         []trajectory.Message `parquet:"messages,list"`
	Tools            string               `parquet:"tools"`
	Answer           string               `parquet:"answer"`
	Status           string               `parquet:"status"`
	FailReason       string               `parquet:"fail_reason"`
	NumToolCalls     int32                `parquet:"num_tool_calls"`
	NumTurns         int32                `parquet:"num_turns"`
	ToolErrors       int32                `parquet:"tool_errors"`
	Rollbacks        int32                `parquet:"rollbacks"`
	Repetition       bool                 `parquet:"repetition"`
	Truncated        bool                 `parquet:"truncated"`
	FinishReasons    []string             `parquet:"finish_reasons,list"`
	PromptTokens     int64                `parquet:"prompt_tokens"`
	CompletionTokens int64                `parquet:"completion_tokens"`
	LatencyMillis    int64                `parquet:"latency_ms"`
	Role             string               `parquet:"role"`
	Temperature      float64              `parquet:"temperature"`
	TopP             float64              `parquet:"top_p"`
	MaxTokens        int32                `parquet:"max_tokens"`
	PromptHash       string               `parquet:"prompt_hash"`
	ToolsHash        string               `parquet:"tools_hash"`
	Calls            []trajectory.Call    `parquet:"calls,list"`
	Errors           []string             `parquet:"errors,list"`
	Judged           bool                 `parquet:"judged"`
	Correct          bool                 `parquet:"correct"`
	JudgeMethod      string               `parquet:"judge_method"`
	JudgeLabel       string               `parquet:"judge_label"`
	F1               float64              `parquet:"f1"`
	Quality          []string             `parquet:"quality_flags,list"`
}

// rolloutJob is one (question, rollout index) to run.
type rolloutJob struct {
	id    string
	item  qa.Item
	index int
}

// rolloutID names rollout index of question qaID by model and mode, so
// adding rollouts or models never renames existing ones.
func rolloutID(qaID string, index int, model, mode string) string {
	return stableID("ro-", qaID, strconv.Itoa(index), model, mode)
}

func (r *Runner) agentPolicy() react.Policy {
	s := r.cfg.Synthesize
	p := react.DefaultPolicy()
	p.Mode, p.KeepToolResults, p.MaxTurns, p.MaxTokens = s.Mode, s.KeepToolResults, s.MaxTurns, s.MaxTokens
	p.ContextTokens, p.Temperature, p.TopP, p.MaxRollbacks = s.ContextTokens, s.Temperature, s.TopP, s.MaxRollbacks
	p.BoxRule, _ = boxed.Parse(s.BoxRule) // Validate has checked it
	p.Retention, p.SummaryAfterResult, p.RepeatCalls, p.EmptySearch = s.Retention, s.SummaryAfterResult, s.RepeatCalls, s.EmptySearch
	p.Today = s.Today
	return p
}

// Synthesize runs N rollouts of the agent on every kept question.
func (r *Runner) Synthesize(ctx context.Context) error {
	s := r.cfg.Synthesize
	agentModel := r.cfg.Endpoint("agent").Model
	var (
		sb    *sandbox.Manager
		agent *react.Agent
	)
	defer func() {
		if sb != nil {
			r.closeSandbox(sb)
		}
	}()
	toolOpts, err := s.ToolOptions()
	if err != nil {
		return fmt.Errorf("synthesize: %w", err)
	}
	localFiles, err := localFilesDigest(s.Sandbox.LocalFiles)
	if err != nil {
		return fmt.Errorf("synthesize: %w", err)
	}
	return runStage(ctx, r, stage[rolloutJob]{
		name: StageSynthesize, upstream: StageQA,
		// The exposed files' digest: what the uploads read is an input of
		// the rows as much as the config is.
		settings: []any{s, agentModel, r.cfg.Endpoint("extractor").Model, react.PromptHash(), r.cfg.Seed, localFiles},
		items: func(ctx context.Context) ([]rolloutJob, error) {
			// The sandbox is checked before any rollout runs: with python_tools on
			// and no working sandbox the stage stops here (never running code
			// unsandboxed, never silently offering fewer tools).
			var err error
			if sb, err = r.openPythonSandbox(ctx); err != nil {
				return nil, err
			}
			items, err := r.qaItems(ctx)
			if err != nil {
				return nil, err
			}
			var jobs []rolloutJob
			for _, it := range items {
				if it.Status != qa.StatusKept {
					continue
				}
				r.keys.set(it.Question, solutionOf(it))
				for i := 0; i < s.Rollouts; i++ {
					jobs = append(jobs, rolloutJob{id: rolloutID(it.ID, i, agentModel, s.Mode), item: it, index: i})
				}
			}
			agentLLM, err := r.client(ctx, "agent")
			if err != nil {
				return nil, err
			}
			extractor, err := r.client(ctx, "extractor")
			if err != nil {
				return nil, err
			}
			tools := toolset.New(r.store, extractor).WithOptions(toolOpts).WithFunctionNames(s.FunctionNames)
			if sb != nil {
				tools = tools.WithSandbox(sb)
			}
			agent = &react.Agent{LLM: agentLLM, Tools: tools, Policy: r.agentPolicy()}
			r.manifest.ToolSchemaHash = hashString(tools.SchemasJSON())
			r.manifest.Prompts["agent"] = react.PromptHash()
			return jobs, nil
		},
		id:    func(j rolloutJob) string { return j.id },
		owner: func(j rolloutJob) string { return j.item.ID },
		work: func(ctx context.Context, j rolloutJob) (Record, error) {
			seed := itemSeed(r.cfg.Seed, j.id)
			ro, err := agent.Run(ctx, trajectory.Task{QAID: j.item.ID, Question: j.item.Question}, seed)
			if err != nil {
				return Record{}, err
			}
			ro.ID, ro.QAID, ro.Index, ro.Model, ro.Seed = j.id, j.item.ID, j.index, agent.LLM.Model(), seed
			b, err := json.Marshal(ro)
			if err != nil {
				return Record{}, err
			}
			return Record{ID: ro.ID, Status: ro.Status, Reason: ro.FailReason, Payload: b}, nil
		},
		global: func(ctx context.Context, _ string) (*StageStats, error) {
			rollouts, err := r.rollouts(ctx)
			if err != nil {
				return nil, err
			}
			st := newStageStats()
			for _, ro := range rollouts {
				switch ro.Status {
				case trajectory.StatusAnswered:
					st.add("kept", "")
				case trajectory.StatusFormatError:
					st.add("rejected", trajectory.StatusFormatError)
				default:
					st.add("failed", trajectory.FailKind(ro.FailReason))
					st.example(trajectory.FailKind(ro.FailReason), ro.ID+": "+ro.FailReason)
				}
				st.PromptTokens += ro.PromptTokens
				st.CompletionTokens += ro.CompletionTokens
				st.Counts["tool_calls"] += int64(ro.NumToolCalls)
				st.Counts["llm_millis"] += ro.LatencyMillis
				for _, c := range ro.Calls {
					if c.UsageEstimated {
						st.Counts["usage_missing"]++
					}
				}
			}
			return st, r.publishTrajectories(ctx, rollouts, nil)
		},
	})
}

// solutionOf is the oracle's answer key for a kept question.
func solutionOf(it qa.Item) oracle.Solution {
	s := oracle.Solution{Answer: it.Answer, Path: it.Titles}
	if n := len(it.Titles); n >= 2 {
		s.Wrong = it.Titles[n-2]
	}
	return s
}

func (r *Runner) rollouts(ctx context.Context) ([]trajectory.Rollout, error) {
	var out []trajectory.Rollout
	err := r.state.Each(ctx, StageSynthesize, func(rec Record) error {
		var ro trajectory.Rollout
		if err := json.Unmarshal(rec.Payload, &ro); err != nil {
			return fmt.Errorf("read rollout %s: %w", rec.ID, err)
		}
		out = append(out, ro)
		return nil
	})
	return out, err
}

// judgedVerdict is the judge stage's committed payload.
type judgedVerdict struct {
	Verdict verdict.Verdict
	Quality []string
}

// Judge decides every rollout's correctness and quality flags.
func (r *Runner) Judge(ctx context.Context) error {
	var (
		byID     map[string]qa.Item
		rollouts []trajectory.Rollout
		judge    = verdict.Judge{F1Threshold: r.cfg.Judge.F1Threshold}
	)
	return runStage(ctx, r, stage[trajectory.Rollout]{
		name: StageJudge, upstream: StageSynthesize,
		settings: []any{r.cfg.Judge, r.cfg.Endpoint("grader").Model, verdict.GraderPromptHash()},
		items: func(ctx context.Context) ([]trajectory.Rollout, error) {
			items, err := r.qaItems(ctx)
			if err != nil {
				return nil, err
			}
			byID = map[string]qa.Item{}
			for _, it := range items {
				byID[it.ID] = it
			}
			if rollouts, err = r.rollouts(ctx); err != nil {
				return nil, err
			}
			if r.cfg.Judge.UseGrader {
				g, err := r.client(ctx, "grader")
				if err != nil {
					return nil, err
				}
				judge.Grader = g
				r.manifest.Prompts["grader"] = verdict.GraderPromptHash()
			}
			return rollouts, nil
		},
		id:    func(ro trajectory.Rollout) string { return ro.ID },
		owner: func(ro trajectory.Rollout) string { return ro.QAID },
		work: func(ctx context.Context, ro trajectory.Rollout) (Record, error) {
			it, ok := byID[ro.QAID]
			if !ok {
				return Record{}, fmt.Errorf("question %s is missing from qa/", ro.QAID)
			}
			answer := ro.Answer
			if ro.Status != trajectory.StatusAnswered {
				answer = ""
			}
			v, err := judge.Decide(ctx, it.Question, answer, it.Gold)
			if err != nil {
				return Record{}, err
			}
			b, err := json.Marshal(judgedVerdict{Verdict: v, Quality: verdict.Quality(ro)})
			if err != nil {
				return Record{}, err
			}
			status := "incorrect"
			if v.Correct {
				status = "correct"
			}
			return Record{ID: ro.ID, Status: status, Reason: v.Method, Payload: b}, nil
		},
		global: func(ctx context.Context, _ string) (*StageStats, error) {
			verdicts, err := r.verdicts(ctx)
			if err != nil {
				return nil, err
			}
			if rollouts == nil { // the commit step lists no items
				if rollouts, err = r.rollouts(ctx); err != nil {
					return nil, err
				}
			}
			st := newStageStats()
			for _, ro := range rollouts {
				v := verdicts[ro.ID]
				if v.Verdict.Correct {
					st.add("kept", "")
				} else {
					st.add("rejected", "incorrect_"+v.Verdict.Method)
				}
				st.Counts["by_"+v.Verdict.Method]++
				for _, q := range v.Quality {
					st.Counts["quality_"+q]++
				}
			}
			return st, r.publishTrajectories(ctx, rollouts, verdicts)
		},
	})
}

func (r *Runner) verdicts(ctx context.Context) (map[string]judgedVerdict, error) {
	out := map[string]judgedVerdict{}
	err := r.state.Each(ctx, StageJudge, func(rec Record) error {
		var v judgedVerdict
		if err := json.Unmarshal(rec.Payload, &v); err != nil {
			return fmt.Errorf("read verdict %s: %w", rec.ID, err)
		}
		out[rec.ID] = v
		return nil
	})
	return out, err
}

// storedMessages applies the trajectory_content choice: the full tool
// results, or the log as the model saw it at its last turn.
func (r *Runner) storedMessages(ro trajectory.Rollout) []trajectory.Message {
	if r.cfg.Export.TrajectoryContent == "retained" {
		return trajectory.Retain(ro.Messages, r.cfg.Synthesize.KeepToolResults, ro.Mode, r.cfg.Synthesize.Retention)
	}
	return ro.Messages
}

func (r *Runner) publishTrajectories(ctx context.Context, rollouts []trajectory.Rollout, verdicts map[string]judgedVerdict) error {
	rows := make([]TrajectoryRow, 0, len(rollouts))
	for _, ro := range rollouts {
		row := TrajectoryRow{
			ID: ro.ID, QAID: ro.QAID, Index: int32(ro.Index), Model: ro.Model, Mode: ro.Mode, Seed: ro.Seed,
			Messages: r.storedMessages(ro), Tools: ro.Tools, Answer: ro.Answer, Status: ro.Status, FailReason: ro.FailReason,
			NumToolCalls: int32(ro.NumToolCalls), NumTurns: int32(ro.NumTurns), ToolErrors: int32(ro.ToolErrors),
			Rollbacks: int32(ro.Rollbacks), Repetition: ro.Repetition, Truncated: ro.Truncated, FinishReasons: ro.FinishReasons,
			PromptTokens: ro.PromptTokens, CompletionTokens: ro.CompletionTokens, LatencyMillis: ro.LatencyMillis,
			Role: ro.Role, Temperature: decimalFloat(ro.Temperature), TopP: decimalFloat(ro.TopP), MaxTokens: int32(ro.MaxTokens),
			PromptHash: ro.PromptHash, ToolsHash: ro.ToolsHash, Calls: ro.Calls, Errors: ro.Errors,
		}
		if v, ok := verdicts[ro.ID]; ok {
			row.Judged, row.Correct, row.JudgeMethod, row.JudgeLabel, row.F1, row.Quality = true, v.Verdict.Correct, v.Verdict.Method, v.Verdict.Label, v.Verdict.F1, v.Quality
		}
		rows = append(rows, row)
	}
	return publish(ctx, r, "trajectories", rows, partName)
}

// decimalFloat widens a config float32 to the float64 of its shortest
// decimal form, so that top_p 0.95 reads back as 0.95, not 0.949999988.
func decimalFloat(f float32) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	if err != nil {
		return float64(f) // unreachable: FormatFloat output always parses
	}
	return v
}

func hashString(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
