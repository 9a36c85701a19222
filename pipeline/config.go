package pipeline

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"go.yaml.in/yaml/v3"

	"github.com/miroverse/miroverse/internal/boxed"
	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/react"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// Config is one run's configuration. Every field is documented in
// configs/demo.yaml; unknown keys are errors. Secrets never live here: only the
// names of the environment variables that hold them.
type Config struct {
	Seed    int64 `yaml:"seed" json:"seed"`
	Workers int   `yaml:"workers" json:"workers"`
	// MemoryBudget bounds the memory of every stage, e.g. "8GiB" (at least
	// MinMemoryBudget, and about 330 MiB with the default
	// input.max_page_size: see memoryPlan.checkReader); "" means no bound. See memoryPlan for how it is
	// shared out; each stage's peak RSS is in the manifest beside it.
	MemoryBudget string `yaml:"memory_budget" json:"memory_budget"`

	Input      InputConfig      `yaml:"input" json:"input"`
	Graph      GraphConfig      `yaml:"graph" json:"graph"`
	Sample     SampleConfig     `yaml:"sample" json:"sample"`
	QA         QAConfig         `yaml:"qa" json:"qa"`
	Synthesize SynthesizeConfig `yaml:"synthesize" json:"synthesize"`
	Judge      JudgeConfig      `yaml:"judge" json:"judge"`
	Export     ExportConfig     `yaml:"export" json:"export"`
	LLM        LLMConfig        `yaml:"llm" json:"llm"`
	Slurm      SlurmConfig      `yaml:"slurm" json:"slurm"`
}

// reader is the input section as the reader takes it: without an
// input.memory_budget of its own, the reader gets its share of
// memory_budget.
func (c Config) reader() InputConfig {
	in := c.Input
	if p, err := planMemory(c.MemoryBudget); err == nil && in.MemoryBudget == "" && p.budget > 0 {
		in.MemoryBudget = fmt.Sprintf("%dB", p.readerBytes(c.maxPage()))
	}
	return in
}

// maxPage is input.max_page_size in bytes, 0 for the reader's default (or
// a value Validate refuses).
func (c Config) maxPage() int64 {
	n, err := humanize.ParseBytes(c.Input.MaxPageSize)
	if c.Input.MaxPageSize == "" || err != nil || n > 1<<40 {
		return 0
	}
	return int64(n)
}

// InputConfig lists what ingest reads and how.
type InputConfig struct {
	Paths []string `yaml:"paths" json:"paths"`
	// Workers decode and parse in parallel; 0 means one per core.
	Workers int `yaml:"workers" json:"workers"`
	// MemoryBudget bounds what the reader holds in memory (decoded streams
	// and blocks in flight), e.g. "256MiB"; "" means the reader's default.
	MemoryBudget string `yaml:"memory_budget" json:"memory_budget"`
	// MaxPageSize is the largest page read; a larger one is skipped and
	// counted as page_too_large. "" means the reader's default (32 MiB).
	MaxPageSize string `yaml:"max_page_size" json:"max_page_size"`
	// Index is the multistream index of a bz2 dump; "" finds
	// X-multistream-index.txt.bz2 next to X-multistream.xml.bz2.
	Index string `yaml:"index" json:"index"`
	// Shard and Shards read one slice of a multistream dump's streams, for
	// one worker of a cluster job (0-based; Shards 0 or 1 reads all).
	Shard  int `yaml:"shard" json:"shard"`
	Shards int `yaml:"shards" json:"shards"`
	// Web holds the quality filters and deduplication of web pages.
	Web WebConfig `yaml:"web" json:"web"`
}

// GraphConfig selects the knowledge-graph backend.
type GraphConfig struct {
	// Backend is "embedded" (SQLite) or "neo4j".
	Backend string `yaml:"backend" json:"backend"`
	// Path of the embedded store; empty means <out>/graph/kg.db.
	Path string `yaml:"path" json:"path"`
	// BatchSize is how many records ingest hands the store per write.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// URI of the Neo4j server; empty means the NEO4J_URI environment variable.
	// User and password come from NEO4J_USER and NEO4J_PASSWORD only.
	URI string `yaml:"uri" json:"uri"`
	// Database is the Neo4j database name.
	Database string `yaml:"database" json:"database"`
	// NodeBatch and RelBatch are the rows per Neo4j write transaction.
	NodeBatch int `yaml:"node_batch" json:"node_batch"`
	RelBatch  int `yaml:"rel_batch" json:"rel_batch"`
	// Workers is the number of Neo4j write transactions in flight at once.
	Workers int `yaml:"workers" json:"workers"`
	// Load is how ingest fills a Neo4j graph: "bulk" (the server's own
	// neo4j-admin imports what the embedded store resolved; empty database
	// only), "transactional" (batched transactions over Bolt, for adding to
	// a live database) or "auto" (bulk on an empty database where this
	// machine can run the import, else transactional). Every way ends in
	// the same graph.
	Load string `yaml:"load" json:"load"`
	// Neo4jHome is the Neo4j installation whose bin/neo4j-admin and
	// bin/neo4j a bulk load runs; empty means the one the server reports.
	Neo4jHome string `yaml:"neo4j_home" json:"neo4j_home"`
}

// Graph load modes (graph.load).
const (
	LoadAuto          = "auto"
	LoadBulk          = "bulk"
	LoadTransactional = "transactional"
)

// SampleConfig shapes the random walks.
type SampleConfig struct {
	Walks    int `yaml:"walks" json:"walks"`
	MinHops  int `yaml:"min_hops" json:"min_hops"`
	MaxHops  int `yaml:"max_hops" json:"max_hops"`
	HubCap   int `yaml:"hub_cap" json:"hub_cap"`
	Attempts int `yaml:"attempts" json:"attempts"`
	// Hops maps a hop count to its weight; non-empty replaces the uniform
	// draw in [min_hops, max_hops] (sample.Options.HopMix).
	Hops map[int]float64 `yaml:"hops" json:"hops,omitempty"`
	// AnswerTypes maps an answer type (person, place, organisation, date,
	// other) to its weight (sample.Options.AnswerMix).
	AnswerTypes map[string]float64 `yaml:"answer_types" json:"answer_types,omitempty"`
	// Stratify orders seeds by (primary category, degree band) rather than
	// by degree band alone; SeedPool bounds the seeds looked up for it.
	Stratify bool `yaml:"stratify" json:"stratify"`
	SeedPool int  `yaml:"seed_pool" json:"seed_pool"`
	// MaxNodeShare caps the walks any one document is on (seed, bridge or
	// answer) at ceil(max_node_share × walks); MaxAnswerShare caps the
	// walks ending on one document the same way and spreads answers over
	// strata (sample.Options). 0 turns a cap off.
	MaxNodeShare   float64 `yaml:"max_node_share" json:"max_node_share"`
	MaxAnswerShare float64 `yaml:"max_answer_share" json:"max_answer_share"`
}

// QAConfig shapes question writing.
type QAConfig struct {
	// Inject is a test hook: walk id → instruction passed to the writer
	// (the oracle understands "leak"). Empty in real runs.
	Inject map[string]string `yaml:"inject" json:"inject,omitempty"`
	// Contamination lists the benchmark files every question (written or
	// imported) is checked against: JSON or JSONL of {question, …}, and
	// GAIA hash TSVs. `qa import --contamination` adds to it.
	Contamination []string `yaml:"contamination" json:"contamination,omitempty"`
	// ContaminationNGram and ContaminationOverlap: a question is
	// contaminated when this share of its word n-grams occurs in one
	// benchmark question, grams weighted by rarity (0: gates.DefaultContaminationNGram/Overlap, 3 and 0.6).
	ContaminationNGram   int     `yaml:"contamination_ngram" json:"contamination_ngram,omitempty"`
	ContaminationOverlap float64 `yaml:"contamination_overlap" json:"contamination_overlap,omitempty"`
	// ContaminationTopK is how many benchmark questions, retrieved by BM25
	// and shared names, the decontam judge reads for a question the n-gram
	// test lets through (0: gates.DefaultContaminationTopK, 5).
	ContaminationTopK int `yaml:"contamination_top_k" json:"contamination_top_k,omitempty"`
	// DedupThreshold is the MinHash Jaccard estimate at which a question is a
	// near duplicate of an earlier one (0: gates.DefaultDedupThreshold, 0.6).
	DedupThreshold float64 `yaml:"dedup_threshold" json:"dedup_threshold,omitempty"`
	// Verify switches the LLM-backed gates (verify.Gates) on and off.
	Verify VerifyConfig `yaml:"verify" json:"verify"`
}

// VerifyConfig shapes the LLM-backed gates of written questions: the
// verifier role for uniqueness and masked hop, the closed_book role for
// the closed-book gate.
type VerifyConfig struct {
	Uniqueness bool `yaml:"uniqueness" json:"uniqueness"`
	ClosedBook bool `yaml:"closed_book" json:"closed_book"`
	MaskedHop  bool `yaml:"masked_hop" json:"masked_hop"`
	// SingleClause: each clause alone plus corpus search must not yield
	// the gold answer (verify.Gates.Search).
	SingleClause bool `yaml:"single_clause" json:"single_clause"`
	// ClosedBookTries is how many times (each with its own seed) the
	// closed-book role must fail; 0: verify.DefaultClosedBookTries (3).
	ClosedBookTries int `yaml:"closed_book_tries" json:"closed_book_tries"`
}

// SynthesizeConfig shapes the agent's rollouts.
type SynthesizeConfig struct {
	Rollouts        int     `yaml:"rollouts" json:"rollouts"`
	Mode            string  `yaml:"mode" json:"mode"`
	KeepToolResults int     `yaml:"keep_tool_results" json:"keep_tool_results"`
	MaxTurns        int     `yaml:"max_turns" json:"max_turns"`
	MaxTokens       int     `yaml:"max_tokens" json:"max_tokens"`
	ContextTokens   int     `yaml:"context_tokens" json:"context_tokens"`
	Temperature     float32 `yaml:"temperature" json:"temperature"`
	TopP            float32 `yaml:"top_p" json:"top_p"`
	MaxRollbacks    int     `yaml:"max_rollbacks" json:"max_rollbacks"`
	// BoxRule reads the final answer's \boxed{}: "mirothinker" (an unclosed
	// last box runs to the end of the text, MiroThinker's exact placeholder
	// list, a summary without a box falls back to the last box of the
	// earlier turns) or "strict" (closed boxes only, a wider placeholder
	// list, the fallback only to the reply before the summary).
	BoxRule string `yaml:"box_rule" json:"box_rule"`
	// The protocol choices below default to MiroThinker's behaviour; the
	// other value of each is this project's earlier behaviour, kept for
	// models that were trained on it.
	//
	// Retention: "mirothinker" (the summary request takes one of the
	// keep_tool_results slots, as every user message after the task does)
	// or "results" (only tool results count).
	Retention string `yaml:"retention" json:"retention"`
	// SummaryAfterResult: "drop" (in MCP mode a tool result that the forced
	// summary request would follow is removed first) or "keep".
	SummaryAfterResult string `yaml:"summary_after_result" json:"summary_after_result"`
	// RepeatCalls: "rollback" (a search or scrape identical to an earlier
	// one is rolled back, up to max_rollbacks-1 in a row, then allowed) or
	// "notice" (it is answered with a notice that stays in the trajectory).
	RepeatCalls string `yaml:"repeat_calls" json:"repeat_calls"`
	// EmptySearch: "rollback" (a google_search without results is rolled
	// back under the same limit) or "keep".
	EmptySearch string `yaml:"empty_search" json:"empty_search"`
	// FunctionNames: "server-tool" (function-calling names such as
	// search_and_scrape_webpage-google_search, as MiroFlow's) or "bare".
	FunctionNames string `yaml:"function_names" json:"function_names"`
	// Today is the date (YYYY-MM-DD) the system prompt gives as "Today
	// is:", fixed by config so that rows do not depend on the day of the run.
	Today string `yaml:"today" json:"today"`
	// PythonTools offers the tool-python tools (create_sandbox,
	// run_python_code, run_command, upload_file_from_local_to_sandbox,
	// download_file_from_internet_to_sandbox), run in the bubblewrap sandbox bounded by
	// Sandbox. When it is on and no sandbox can be made here, synthesize and
	// run stop at their start; code never runs unsandboxed.
	PythonTools bool          `yaml:"python_tools" json:"python_tools"`
	Sandbox     SandboxConfig `yaml:"sandbox" json:"sandbox"`
	// ScrapeResult is the shape of scrape_and_extract_info's answer:
	// "json" (MiroThinker's object: success, url, extracted_info, error,
	// scrape_stats, model_used, tokens_used; failures too) or "text" (the
	// extracted text alone, failures as [ERROR]: text).
	ScrapeResult string `yaml:"scrape_result" json:"scrape_result"`
	// PythonResult is the shape of the tool-python answers: "e2b" (the
	// str() of E2B's Execution and CommandResult, placeholder sandbox ids
	// run statelessly, as MiroThinker's server answers) or "text" (merged
	// output, any id the rollout did not create refused).
	PythonResult string `yaml:"python_result" json:"python_result"`
	// UnknownArguments is what a call with an argument the tool does not
	// take gets: "server" (as MiroThinker's servers: dropped by the search
	// and scrape tools, refused by the tool-python tools), "ignore" or
	// "reject" (for every tool).
	UnknownArguments string `yaml:"unknown_arguments" json:"unknown_arguments"`
}

// SandboxConfig bounds every call of the tool-python tools. Zero values
// take the defaults (DefaultConfig); no limit can be switched off.
type SandboxConfig struct {
	// Wall is the real time one call may take before its processes are killed.
	Wall time.Duration `yaml:"wall" json:"wall"`
	// CPUSeconds is the CPU time per process.
	CPUSeconds int `yaml:"cpu_seconds" json:"cpu_seconds"`
	// Memory is the address space per process, e.g. "4GiB".
	Memory string `yaml:"memory" json:"memory"`
	// Processes bounds the processes and threads of one call.
	Processes int `yaml:"processes" json:"processes"`
	// Lifetime is how long a sandbox may stay unused before it and its
	// files are removed: the most a create_sandbox timeout may ask for,
	// and what every call in the sandbox renews it to.
	Lifetime time.Duration `yaml:"lifetime" json:"lifetime"`
	// LocalFiles is a directory whose files upload_file_from_local_to_sandbox
	// may copy into a sandbox, named by their path in it; "" exposes none.
	// Its files are part of the synthesize stage's fingerprint.
	LocalFiles string `yaml:"local_files" json:"local_files"`
}

// JudgeConfig shapes the verdicts.
type JudgeConfig struct {
	F1Threshold float64 `yaml:"f1_threshold" json:"f1_threshold"`
	UseGrader   bool    `yaml:"use_grader" json:"use_grader"`
}

// ExportConfig shapes the SFT and DPO shards.
type ExportConfig struct {
	Style             string `yaml:"style" json:"style"`
	SFTPick           string `yaml:"sft_pick" json:"sft_pick"`
	MaxPairsPerQA     int    `yaml:"max_pairs_per_question" json:"max_pairs_per_question"`
	ShardRows         int    `yaml:"shard_rows" json:"shard_rows"`
	RowGroupRows      int    `yaml:"row_group_rows" json:"row_group_rows"`
	TrajectoryContent string `yaml:"trajectory_content" json:"trajectory_content"`
	// DifficultyBand keeps the questions whose pass rate (correct rollouts
	// / rollouts) lies in [lo, hi]. Empty: questions all of whose rollouts
	// agree (rate 0 or 1) are dropped when they have at least
	// gates.MinRolloutsForBand rollouts (gates.OutsideBand).
	DifficultyBand []float64 `yaml:"difficulty_band" json:"difficulty_band,omitempty"`
}

// LLMConfig says where each role's requests go.
type LLMConfig struct {
	Default EndpointConfig            `yaml:"default" json:"default"`
	Roles   map[string]EndpointConfig `yaml:"roles" json:"roles,omitempty"`
	Oracle  OracleConfig              `yaml:"oracle" json:"oracle"`
	// Cache is the response cache of the roles on real endpoints:
	// "read-write" (the default: a request answered before is answered
	// from the cache, any other is sent and its reply kept), "replay"
	// (answers only from the cache, and the first request it does not hold
	// fails the run) or "off". The built-in oracle is never cached: its
	// replies are a function of the request and cost nothing.
	Cache string `yaml:"cache" json:"cache"`
	// CachePath is where the cache lives: a directory or a blob URL that
	// several runs and shards may share; "" is the root's cache/.
	CachePath string `yaml:"cache_path" json:"cache_path,omitempty"`
}

// EndpointConfig is one OpenAI-compatible endpoint. An empty BaseURL means
// the built-in oracle, started by the pipeline on a loopback port.
type EndpointConfig struct {
	BaseURL     string        `yaml:"base_url" json:"base_url"`
	Model       string        `yaml:"model" json:"model"`
	APIKeyEnv   string        `yaml:"api_key_env" json:"api_key_env"`
	Timeout     time.Duration `yaml:"timeout" json:"timeout"`
	MaxRetries  int           `yaml:"max_retries" json:"max_retries"`
	Concurrency int           `yaml:"concurrency" json:"concurrency"`
	// Stream asks for streamed replies; unset in a role means the
	// default's setting, so a pointer tells "false" from "not given".
	Stream *bool `yaml:"stream" json:"stream,omitempty"`
	// MaxTokens bounds every reply of the role; 0 is the role's default
	// (DefaultMaxTokens). The agent's own limit is synthesize.max_tokens.
	MaxTokens int `yaml:"max_tokens" json:"max_tokens,omitempty"`
	// TokenLimitField says which request fields carry the limit: "both"
	// (the default: max_tokens, which llama.cpp and older servers read, and
	// max_completion_tokens, which OpenAI's newer models require),
	// "max_tokens" or "max_completion_tokens" (for OpenAI's reasoning
	// models, which refuse max_tokens).
	TokenLimitField string `yaml:"token_limit_field" json:"token_limit_field,omitempty"`
	// ToolChoice is sent with requests that offer tools: "auto" (the
	// default; some servers drop the tools without it), "required", "none",
	// or "omit" to send none.
	ToolChoice string `yaml:"tool_choice" json:"tool_choice,omitempty"`
	// StructuredOutput is how the roles that reply in JSON (writer,
	// verifier, grader, decontam) ask for it: "json_schema" (the default:
	// response_format with the reply's JSON Schema, as OpenAI, vLLM,
	// SGLang and llama.cpp's server take it), "json_object" (the schema
	// inside a json_object format, the form llama-cpp-python's server
	// takes) or "off" (no response_format; the prompt's JSON is parsed
	// from free text). A server that rejects the form makes the client
	// step down the list by itself and log it.
	StructuredOutput string `yaml:"structured_output" json:"structured_output,omitempty"`
}

// DefaultMaxTokens is the reply limit of a role whose endpoint sets none:
// room for the longest reply the role's prompt asks for, and a stop for a
// small model that would otherwise write to the end of its context.
func DefaultMaxTokens(role string) int {
	switch role {
	case "agent", "writer", "extractor":
		return 4096
	case "verifier", "closed_book":
		return 1024
	}
	return 512 // grader, decontam: a verdict
}

// OracleConfig tunes the built-in teacher.
type OracleConfig struct {
	ErrorRate  float64 `yaml:"error_rate" json:"error_rate"`
	DetourRate float64 `yaml:"detour_rate" json:"detour_rate"`
	// Delay is added to every reply: latency for benchmarks and resume tests.
	Delay time.Duration `yaml:"delay" json:"delay"`
	// FaultRate is the fraction of requests the oracle answers with an
	// injected fault (oracle.Faults); EnvOracleFaultRate overrides it. The
	// resolved value is in the manifest's config, so a run says it was
	// made against a flaky oracle.
	FaultRate float64 `yaml:"fault_rate" json:"fault_rate"`
	// FaultKinds are the faults drawn from; empty means all.
	FaultKinds []string `yaml:"fault_kinds" json:"fault_kinds,omitempty"`
	// FaultHang caps how long a timeout fault holds a request.
	FaultHang time.Duration `yaml:"fault_hang" json:"fault_hang"`
}

// EnvOracleFaultRate names the environment variable that overrides
// llm.oracle.fault_rate, so that any run (a test, a demo) can be made
// against a flaky built-in oracle without editing its config.
const EnvOracleFaultRate = "MIROVERSE_ORACLE_FAULT_RATE"

// faults is the fault layer the built-in oracle gets. Its MaxStreak stays
// within the smallest retry budget of the roles that call the oracle, so
// that every call gets through: that is what keeps the rows of a run with
// faults equal to those of a run without.
func (c Config) faults() (oracle.Faults, error) {
	o := c.LLM.Oracle
	kinds, err := oracle.ParseFaultKinds(strings.Join(o.FaultKinds, ","))
	if err != nil {
		return oracle.Faults{}, fmt.Errorf("llm.oracle.fault_kinds: %w", err)
	}
	streak := oracle.DefaultMaxStreak
	for _, role := range roleNames {
		if c.builtinOracle(role) {
			streak = min(streak, max(c.Endpoint(role).MaxRetries, 0))
		}
	}
	f := oracle.Faults{Rate: o.FaultRate, Kinds: kinds, MaxStreak: streak, Hang: o.FaultHang, Seed: c.Seed}
	if err := f.Validate(); err != nil {
		return oracle.Faults{}, fmt.Errorf("llm.oracle: %w", err)
	}
	if streak == 0 {
		f.Rate = 0 // a client that never retries would fail on every fault
	}
	return f, nil
}

// ApplyEnv applies the settings the environment overrides, through lookup
// (os.LookupEnv outside tests): EnvOracleFaultRate over
// llm.oracle.fault_rate. The command line calls it once, right after the
// config is read; nothing else in the pipeline reads these variables.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	if v, ok := lookup(EnvOracleFaultRate); ok && strings.TrimSpace(v) != "" {
		rate, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || rate < 0 || rate > 1 {
			return fmt.Errorf("%s=%q: want a fraction between 0 and 1", EnvOracleFaultRate, v)
		}
		c.LLM.Oracle.FaultRate = rate
	}
	return nil
}

// Roles the pipeline calls.
var roleNames = []string{"agent", "writer", "extractor", "grader", "verifier", "closed_book", "decontam"}

// DefaultConfig is what a run uses for every key a file leaves out.
func DefaultConfig() Config {
	return Config{
		Seed:    42,
		Workers: 8,
		Graph: GraphConfig{Backend: "embedded", BatchSize: 5000, Database: "neo4j", NodeBatch: 5000, RelBatch: 10000,
			Workers: 4, Load: LoadAuto},
		Sample: SampleConfig{Walks: 60, MinHops: 2, MaxHops: 4, Attempts: 8, Stratify: true,
			MaxNodeShare: DefaultMaxNodeShare, MaxAnswerShare: DefaultMaxAnswerShare},
		Synthesize: SynthesizeConfig{
			Rollouts: 4, Mode: "function", KeepToolResults: 5, MaxTurns: 600,
			MaxTokens: 16384, ContextTokens: 262144, Temperature: 1.0, TopP: 0.95, MaxRollbacks: 5, BoxRule: string(boxed.MiroThinker),
			Retention: trajectory.RetainMiroThinker, SummaryAfterResult: react.SummaryDropResult,
			RepeatCalls: react.RepeatRollback, EmptySearch: react.EmptySearchRollback,
			FunctionNames: trajectory.FunctionNamesServerTool, Today: react.DefaultToday,
			PythonTools: true,
			Sandbox: SandboxConfig{Wall: 120 * time.Second, CPUSeconds: 60, Memory: "4GiB", Processes: 128,
				Lifetime: toolset.DefaultSandboxLifetime},
			ScrapeResult: toolset.ScrapeJSON, PythonResult: toolset.PythonE2B, UnknownArguments: toolset.ArgsServer,
		},
		QA:    QAConfig{Verify: VerifyConfig{Uniqueness: true, ClosedBook: true, MaskedHop: true, SingleClause: true, ClosedBookTries: 3}},
		Judge: JudgeConfig{F1Threshold: 0.8, UseGrader: true},
		Export: ExportConfig{
			Style: "openai", SFTPick: "fewest_tool_calls", MaxPairsPerQA: 1,
			ShardRows: 20000, RowGroupRows: 1000, TrajectoryContent: "full",
		},
		LLM: LLMConfig{
			Cache:   llm.CacheReadWrite,
			Default: EndpointConfig{Model: "oracle", APIKeyEnv: "MIROVERSE_LLM_API_KEY", Timeout: 10 * time.Minute, MaxRetries: 6, Concurrency: 16},
			Oracle:  OracleConfig{ErrorRate: 0.35, DetourRate: 0.25, FaultHang: oracle.DefaultFaultHang},
		},
	}
}

var lineRe = regexp.MustCompile(`line (\d+): field (\S+) not found in type (\S+)`)

// LoadConfig reads a YAML file over the defaults. Unknown keys are errors that
// name the key and its line.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // an empty file means all defaults
		msg := err.Error()
		if ms := lineRe.FindAllStringSubmatch(msg, -1); len(ms) > 0 {
			var parts []string
			for _, m := range ms {
				parts = append(parts, fmt.Sprintf("line %s: unknown key %q (in %s)", m[1], m[2], sectionOf(m[3])))
			}
			return cfg, fmt.Errorf("config %s: %s", path, strings.Join(parts, "; "))
		}
		return cfg, fmt.Errorf("config %s: %s", path, strings.TrimPrefix(msg, "yaml: "))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// viaJSON is c after a round trip through its JSON form, the form a
// manifest holds.
func (c Config) viaJSON() (Config, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	var out Config
	if err := json.Unmarshal(b, &out); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return out, nil
}

func sectionOf(goType string) string {
	t := goType[strings.LastIndex(goType, ".")+1:]
	switch t {
	case "Config":
		return "top level"
	default:
		return strings.TrimSuffix(t, "Config") + " section"
	}
}

// Validate checks values a YAML schema cannot.
func (c Config) Validate() error {
	var errs []error
	if c.Graph.Backend != "embedded" && c.Graph.Backend != "neo4j" {
		errs = append(errs, fmt.Errorf("graph.backend %q: want \"embedded\" or \"neo4j\"", c.Graph.Backend))
	}
	switch c.Graph.Load {
	case LoadAuto, LoadBulk, LoadTransactional:
	default:
		errs = append(errs, fmt.Errorf("graph.load %q: want %q, %q or %q", c.Graph.Load, LoadAuto, LoadBulk, LoadTransactional))
	}
	if c.Sample.MinHops < 1 || c.Sample.MaxHops < c.Sample.MinHops {
		errs = append(errs, fmt.Errorf("sample: need 1 <= min_hops <= max_hops, have %d and %d", c.Sample.MinHops, c.Sample.MaxHops))
	}
	if err := c.Sample.check(); err != nil {
		errs = append(errs, err)
	}
	if _, err := boxed.Parse(c.Synthesize.BoxRule); err != nil {
		errs = append(errs, fmt.Errorf("synthesize.box_rule: %w", err))
	}
	for _, o := range []struct{ key, value, a, b string }{
		{"retention", c.Synthesize.Retention, trajectory.RetainMiroThinker, trajectory.RetainResults},
		{"summary_after_result", c.Synthesize.SummaryAfterResult, react.SummaryDropResult, react.SummaryKeepResult},
		{"repeat_calls", c.Synthesize.RepeatCalls, react.RepeatRollback, react.RepeatNotice},
		{"empty_search", c.Synthesize.EmptySearch, react.EmptySearchRollback, react.EmptySearchKeep},
		{"function_names", c.Synthesize.FunctionNames, trajectory.FunctionNamesServerTool, trajectory.FunctionNamesBare},
	} {
		if o.value != o.a && o.value != o.b {
			errs = append(errs, fmt.Errorf("synthesize.%s %q: want %q (MiroThinker's) or %q", o.key, o.value, o.a, o.b))
		}
	}
	if _, err := time.Parse(time.DateOnly, c.Synthesize.Today); err != nil {
		errs = append(errs, fmt.Errorf("synthesize.today %q: want a date as YYYY-MM-DD", c.Synthesize.Today))
	}
	if c.Synthesize.Mode != "function" && c.Synthesize.Mode != "mcp" {
		errs = append(errs, fmt.Errorf("synthesize.mode %q: want \"function\" or \"mcp\"", c.Synthesize.Mode))
	}
	if c.Synthesize.Rollouts < 1 {
		errs = append(errs, fmt.Errorf("synthesize.rollouts must be >= 1"))
	}
	if _, err := c.Synthesize.Sandbox.Limits(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Synthesize.checkTools()...)
	if c.Export.Style != "openai" && c.Export.Style != "mirothinker" {
		errs = append(errs, fmt.Errorf("export.style %q: want \"openai\" or \"mirothinker\"", c.Export.Style))
	}
	if b := c.Export.DifficultyBand; len(b) != 0 && (len(b) != 2 || b[0] < 0 || b[1] > 1 || b[0] > b[1]) {
		errs = append(errs, fmt.Errorf("export.difficulty_band %v: want [lo, hi] with 0 <= lo <= hi <= 1, or nothing", b))
	}
	if c.Export.TrajectoryContent != "full" && c.Export.TrajectoryContent != "retained" {
		errs = append(errs, fmt.Errorf("export.trajectory_content %q: want \"full\" or \"retained\"", c.Export.TrajectoryContent))
	}
	switch c.LLM.Cache {
	case llm.CacheOff, llm.CacheReadWrite, llm.CacheReplay:
	default:
		errs = append(errs, fmt.Errorf("llm.cache %q: want %q, %q or %q", c.LLM.Cache, llm.CacheReadWrite, llm.CacheReplay, llm.CacheOff))
	}
	for _, role := range roleNames {
		ep := c.Endpoint(role)
		if ep.MaxTokens < 0 {
			errs = append(errs, fmt.Errorf("llm (role %s): max_tokens %d is negative", role, ep.MaxTokens))
		}
		switch ep.TokenLimitField {
		case llm.LimitBoth, llm.LimitMaxTokens, llm.LimitMaxCompletionTokens:
		default:
			errs = append(errs, fmt.Errorf("llm (role %s): token_limit_field %q: want %q, %q or %q", role, ep.TokenLimitField,
				llm.LimitBoth, llm.LimitMaxTokens, llm.LimitMaxCompletionTokens))
		}
		switch ep.StructuredOutput {
		case llm.FormatJSONSchema, llm.FormatJSONObject, llm.FormatOff:
		default:
			errs = append(errs, fmt.Errorf("llm (role %s): structured_output %q: want %q, %q or %q", role, ep.StructuredOutput,
				llm.FormatJSONSchema, llm.FormatJSONObject, llm.FormatOff))
		}
		switch ep.ToolChoice {
		case llm.ToolChoiceAuto, llm.ToolChoiceRequired, llm.ToolChoiceNone, llm.ToolChoiceOmit:
		default:
			errs = append(errs, fmt.Errorf("llm (role %s): tool_choice %q: want %q, %q, %q or %q", role, ep.ToolChoice,
				llm.ToolChoiceAuto, llm.ToolChoiceRequired, llm.ToolChoiceNone, llm.ToolChoiceOmit))
		}
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers must be >= 1"))
	}
	if p, err := planMemory(c.MemoryBudget); err != nil {
		errs = append(errs, err)
	} else if c.Input.MemoryBudget == "" {
		if err := p.checkReader(c.maxPage()); err != nil {
			errs = append(errs, err)
		}
	}
	if c.QA.Verify.ClosedBookTries < 0 {
		errs = append(errs, fmt.Errorf("qa.verify.closed_book_tries must be >= 0 (0: default 3)"))
	}
	if _, err := c.faults(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Slurm.check(); err != nil {
		errs = append(errs, err)
	}
	for role := range c.LLM.Roles {
		known := false
		for _, r := range roleNames {
			known = known || r == role
		}
		if !known {
			errs = append(errs, fmt.Errorf("llm.roles: unknown role %q (roles: %s)", role, strings.Join(roleNames, ", ")))
		}
	}
	return errors.Join(errs...)
}

// Endpoint resolves a role's endpoint: the role's own keys over the default.
func (c Config) Endpoint(role string) EndpointConfig {
	ep := c.LLM.Default
	if r, ok := c.LLM.Roles[role]; ok {
		if r.BaseURL != "" {
			ep.BaseURL = r.BaseURL
		}
		if r.Model != "" {
			ep.Model = r.Model
		}
		if r.APIKeyEnv != "" {
			ep.APIKeyEnv = r.APIKeyEnv
		}
		if r.Timeout != 0 {
			ep.Timeout = r.Timeout
		}
		if r.MaxRetries != 0 {
			ep.MaxRetries = r.MaxRetries
		}
		if r.Concurrency != 0 {
			ep.Concurrency = r.Concurrency
		}
		if r.Stream != nil {
			ep.Stream = r.Stream
		}
		if r.MaxTokens != 0 {
			ep.MaxTokens = r.MaxTokens
		}
		if r.TokenLimitField != "" {
			ep.TokenLimitField = r.TokenLimitField
		}
		if r.ToolChoice != "" {
			ep.ToolChoice = r.ToolChoice
		}
		if r.StructuredOutput != "" {
			ep.StructuredOutput = r.StructuredOutput
		}
	}
	if ep.MaxTokens == 0 {
		ep.MaxTokens = DefaultMaxTokens(role)
	}
	ep.TokenLimitField = cmp.Or(ep.TokenLimitField, llm.LimitBoth)
	ep.ToolChoice = cmp.Or(ep.ToolChoice, llm.ToolChoiceAuto)
	ep.StructuredOutput = cmp.Or(ep.StructuredOutput, llm.FormatJSONSchema)
	return ep
}

// builtinOracle reports whether a role is served by the oracle the
// pipeline starts itself: its endpoint has no base URL. An oracle started
// on its own (`miroverse oracle serve`) and named by its URL is a real
// endpoint to the pipeline.
func (c Config) builtinOracle(role string) bool { return c.Endpoint(role).BaseURL == "" }

// APIKey reads a role's key from the environment: MIROVERSE_LLM_API_KEY_<ROLE>
// first, then the endpoint's api_key_env.
func (c Config) APIKey(role string) string {
	if k := os.Getenv("MIROVERSE_LLM_API_KEY_" + strings.ToUpper(role)); k != "" {
		return k
	}
	return os.Getenv(c.Endpoint(role).APIKeyEnv)
}

// Hash identifies the resolved configuration (inputs excluded: they are
// hashed separately).
func (c Config) Hash() string {
	b, _ := json.Marshal(c)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
