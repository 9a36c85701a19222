package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"

	"github.com/miroverse/miroverse/internal/atomicfile"
)

// ManifestVersion is bumped when the manifest's shape changes.
const ManifestVersion = 1

// Manifest describes one dataset version: what made it and what it holds.
type Manifest struct {
	FormatVersion int    `json:"format_version"`
	CodeVersion   string `json:"code_version"`
	ConfigHash    string `json:"config_hash"`
	Config        Config `json:"config"`
	Seed          int64  `json:"seed"`
	// Shard is "I/N" in a shard's own manifest (shards/I-of-N/); Shards
	// is N in the manifest a commit of N shards wrote.
	Shard          string                 `json:"shard,omitempty"`
	Shards         int                    `json:"shards,omitempty"`
	Inputs         []InputFile            `json:"inputs"`
	Graph          GraphInfo              `json:"graph"`
	Prompts        map[string]string      `json:"prompt_hashes"`
	ToolSchemaHash string                 `json:"tool_schema_hash,omitempty"`
	Models         map[string]string      `json:"models"`
	Stages         map[string]*StageStats `json:"stages"`
	Outputs        map[string]*Output     `json:"outputs"`
}

// InputFile identifies one ingested file by content.
type InputFile struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// GraphInfo says where the graph lives and what it holds.
type GraphInfo struct {
	Backend string `json:"backend"`
	Path    string `json:"path"`
	Docs    int64  `json:"documents"`
	Links   int64  `json:"links"`
	Aliases int64  `json:"aliases"`
	// Load is how ingest filled a Neo4j graph ("bulk", "transactional",
	// or "none" when the database already held it), and LoadReason why.
	Load       string `json:"load,omitempty"`
	LoadReason string `json:"load_reason,omitempty"`
}

// StageStats are one stage's counts. In = Kept + sum(Rejected) + sum(Failed)
// + sum(Skipped): every item ends in exactly one of them.
type StageStats struct {
	In       int64            `json:"in"`
	Kept     int64            `json:"kept"`
	Rejected map[string]int64 `json:"rejected,omitempty"`
	Failed   map[string]int64 `json:"failed,omitempty"`
	// Skipped counts input records that are not items of this stage
	// (e.g. pages outside the article namespace), by reason.
	Skipped  map[string]int64    `json:"skipped,omitempty"`
	Counts   map[string]int64    `json:"counts,omitempty"`
	Examples map[string][]string `json:"examples,omitempty"`
	Seconds  float64             `json:"seconds"`
	// Diversity is the spread of the sample's walks or of the qa stage's
	// kept questions; GateRates (qa) is each reject reason's count over
	// the candidates (In).
	Diversity *Diversity         `json:"diversity,omitempty"`
	GateRates map[string]float64 `json:"gate_rates,omitempty"`
	// PeakRSSBytes is the largest resident set of the process while the
	// stage ran; PeakRSSScope is "stage" when it was measured from the
	// stage's start, "process" when the system only gives the peak since
	// the process started (see peakrss.go).
	PeakRSSBytes int64  `json:"peak_rss_bytes,omitempty"`
	PeakRSSScope string `json:"peak_rss_scope,omitempty"`
	// MemoryBudgetBytes is the memory_budget the stage ran under (0: none).
	MemoryBudgetBytes int64 `json:"memory_budget_bytes,omitempty"`
	PromptTokens      int64 `json:"prompt_tokens,omitempty"`
	CompletionTokens  int64 `json:"completion_tokens,omitempty"`
	Complete          bool  `json:"complete"`
}

// Output lists the Parquet files of one dataset part.
type Output struct {
	Files []string `json:"files"`
	Rows  int64    `json:"rows"`
}

func newStageStats() *StageStats {
	return &StageStats{Rejected: map[string]int64{}, Failed: map[string]int64{}, Skipped: map[string]int64{}, Counts: map[string]int64{}}
}

// add counts one item in its terminal state.
func (s *StageStats) add(status, reason string) {
	s.In++
	switch status {
	case "kept":
		s.Kept++
	case "rejected":
		s.Rejected[reason]++
	case "skipped":
		s.Skipped[reason]++
	default:
		s.Failed[reason]++
	}
}

// example keeps the first few examples of a reason for the summary.
func (s *StageStats) example(reason, text string) {
	if s.Examples == nil {
		s.Examples = map[string][]string{}
	}
	if len(s.Examples[reason]) < 3 {
		s.Examples[reason] = append(s.Examples[reason], text)
	}
}

// ReadManifest loads root/manifest.json.
func ReadManifest(root string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(root, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", filepath.Join(root, "manifest.json"), err)
	}
	return &m, nil
}

// write stores the manifest atomically.
func (m *Manifest) write(root string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return atomicfile.WriteFile(filepath.Join(root, "manifest.json"), append(b, '\n'))
}

// codeVersion is the module version or VCS revision the binary was built from.
func codeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	if bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
