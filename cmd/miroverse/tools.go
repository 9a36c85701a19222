package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/miroverse/miroverse/kg"
	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/sandbox"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// sandboxIDVariable in a call's sandbox_id stands for the id the latest
// create_sandbox of the same `tools run` returned, so a calls file can be
// written before the id is known.
const sandboxIDVariable = "$SANDBOX_ID"

// maxCallLine bounds one line of a calls file; code blocks can be long.
const maxCallLine = 16 << 20

func newToolsCmd(streams IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "List the agent's tools, or run tool calls by hand to check an environment",
		Long: "The agent's tools as the model sees them (tools list) and a way to call them yourself (tools run):\n" +
			"the quickest check that the corpus answers searches and that the code sandbox works on this machine.",
	}
	cmd.AddCommand(newToolsListCmd(streams), newToolsRunCmd(streams))
	return cmd
}

// sandboxFlags override the config's synthesize.sandbox limits.
type sandboxFlags struct {
	wall      time.Duration
	cpu       int
	memory    string
	processes int
	// given tells a flag the user set from one left at its zero default,
	// which must keep the config's value; nil means none was given.
	given func(flag string) bool
}

func (f *sandboxFlags) bind(cmd *cobra.Command) {
	cmd.Flags().DurationVar(&f.wall, "wall", 0, "wall-clock limit per sandbox call (overrides synthesize.sandbox.wall)")
	cmd.Flags().IntVar(&f.cpu, "cpu-seconds", 0, "CPU seconds per sandbox process (overrides synthesize.sandbox.cpu_seconds)")
	cmd.Flags().StringVar(&f.memory, "memory", "", "address space per sandbox process, e.g. 1GiB (overrides synthesize.sandbox.memory)")
	cmd.Flags().IntVar(&f.processes, "processes", 0, "processes per sandbox call (overrides synthesize.sandbox.processes)")
	f.given = cmd.Flags().Changed
}

// apply puts the flags that were given over c.
func (f *sandboxFlags) apply(c *pipeline.SandboxConfig) error {
	given := f.given
	if given == nil {
		given = func(string) bool { return false }
	}
	if given("wall") {
		c.Wall = f.wall
	}
	if given("cpu-seconds") {
		c.CPUSeconds = f.cpu
	}
	if given("memory") {
		c.Memory = f.memory
	}
	if given("processes") {
		c.Processes = f.processes
	}
	_, err := c.Limits()
	return err
}

// loadConfig reads --config, or the defaults when it is empty.
func loadConfig(path string) (pipeline.Config, error) {
	if path == "" {
		return pipeline.DefaultConfig(), nil
	}
	return pipeline.LoadConfig(path)
}

func describeLimits(l sandbox.Limits) string {
	return fmt.Sprintf("wall %s per call, %d CPU seconds and %s of address space per process, %d processes, "+
		"output cut at %s characters", l.Wall, l.CPUSeconds, humanize.IBytes(uint64(l.MemoryBytes)), l.Processes,
		humanize.Comma(int64(l.OutputChars)))
}

// toolsListOptions are the flags of `tools list`.
type toolsListOptions struct {
	IO      IO
	config  string
	asJSON  bool
	sandbox sandboxFlags
}

func newToolsListCmd(streams IO) *cobra.Command {
	opts := &toolsListOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every tool of the agent: name, MCP server, description, parameters; and whether the sandbox works here",
		Long: "List the tools of the MiroThinker profile as the agent is offered them, with their MCP servers, descriptions\n" +
			"and parameters, as the config's synthesize.scrape_result and python_result describe them. The tool-python\n" +
			"tools (create_sandbox, run_python_code, run_command, upload_file_from_local_to_sandbox,\n" +
			"download_file_from_internet_to_sandbox) are offered when synthesize.python_tools is true; the command starts\n" +
			"the code sandbox once to tell whether that can work on this machine, and why not.",
		Example: "  miroverse tools list\n  miroverse tools list --config configs/demo.yaml --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return toolsListRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.config, "config", "", "run config (YAML) whose synthesize.python_tools and sandbox limits apply")
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "print JSON: the tools and the sandbox's state")
	opts.sandbox.bind(cmd)
	return cmd
}

func toolsListRun(ctx context.Context, opts *toolsListOptions) error {
	cfg, err := loadConfig(opts.config)
	if err != nil {
		return err
	}
	if err := opts.sandbox.apply(&cfg.Synthesize.Sandbox); err != nil {
		return err
	}
	avail := ""
	var limits sandbox.Limits
	m, err := pipeline.NewSandbox(ctx, cfg.Synthesize.Sandbox)
	if err != nil {
		if !errors.Is(err, sandbox.ErrUnavailable) {
			return err
		}
		avail = err.Error()
	} else {
		limits = m.Limits()
		if err := m.Close(); err != nil {
			return err
		}
	}
	topts, err := cfg.Synthesize.ToolOptions()
	if err != nil {
		return err
	}
	tools := toolset.ProfileToolsWith(topts)
	if opts.asJSON {
		return printToolsJSON(opts.IO.Out, tools, cfg.Synthesize.PythonTools, avail, limits)
	}
	printTools(opts.IO.Out, tools, opts.config, cfg.Synthesize.PythonTools, avail, limits)
	return nil
}

func printToolsJSON(w io.Writer, tools []toolset.ToolInfo, pythonTools bool, unavailable string, l sandbox.Limits) error {
	type sandboxState struct {
		Available   bool   `json:"available"`
		Reason      string `json:"reason,omitempty"`
		PythonTools bool   `json:"python_tools"`
		Limits      string `json:"limits,omitempty"`
	}
	out := struct {
		Tools   []toolset.ToolInfo `json:"tools"`
		Sandbox sandboxState       `json:"sandbox"`
	}{Tools: tools, Sandbox: sandboxState{Available: unavailable == "", Reason: unavailable, PythonTools: pythonTools}}
	if unavailable == "" {
		out.Sandbox.Limits = describeLimits(l)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

func printTools(w io.Writer, tools []toolset.ToolInfo, config string, pythonTools bool, unavailable string, l sandbox.Limits) {
	fmt.Fprintln(w, "Tools of the MiroThinker profile, in the order the agent is offered them:")
	for _, t := range tools {
		fmt.Fprintf(w, "\n%s  (MCP server %s)", t.Name, t.Server)
		if t.Server == trajectory.ServerPython {
			fmt.Fprint(w, "  offered when synthesize.python_tools is true")
		}
		fmt.Fprintln(w)
		for _, line := range wrapText(t.Description, 96) {
			fmt.Fprintln(w, "    "+line)
		}
		params := schemaParams(t.Parameters)
		if len(params) == 0 {
			fmt.Fprintln(w, "    parameters: none")
			continue
		}
		fmt.Fprintln(w, "    parameters:")
		for _, p := range params {
			fmt.Fprintln(w, "      "+p)
		}
	}
	source := "the defaults"
	if config != "" {
		source = config
	}
	fmt.Fprintln(w)
	if unavailable == "" {
		fmt.Fprintf(w, "Code sandbox: available on this machine (bubblewrap); limits: %s.\n", describeLimits(l))
	} else {
		fmt.Fprintf(w, "Code sandbox: NOT available on this machine: %s\n", unavailable)
	}
	switch {
	case !pythonTools:
		fmt.Fprintf(w, "synthesize.python_tools is false in %s: the agent is offered the search tools only.\n", source)
	case unavailable == "":
		fmt.Fprintf(w, "synthesize.python_tools is true in %s: the agent is offered all %d tools.\n", source, len(tools))
	default:
		fmt.Fprintf(w, "synthesize.python_tools is true in %s: synthesize and run would stop at their start here.\n", source)
	}
}

// schemaParams describes the properties of a JSON Schema object one per
// line, in the schema's own order (a map would lose it).
func schemaParams(schema json.RawMessage) []string {
	var s struct {
		Properties json.RawMessage `json:"properties"`
		Required   []string        `json:"required"`
	}
	if json.Unmarshal(schema, &s) != nil || len(s.Properties) == 0 {
		return nil
	}
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	dec := json.NewDecoder(bytes.NewReader(s.Properties))
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		name, _ := tok.(string)
		var p struct {
			Type        string `json:"type"`
			Description string `json:"description"`
		}
		if err := dec.Decode(&p); err != nil {
			return out
		}
		req := ""
		if required[name] {
			req = ", required"
		}
		out = append(out, fmt.Sprintf("%s (%s%s): %s", name, p.Type, req, p.Description))
	}
	return out
}

// wrapText breaks s into lines of at most width runes at spaces.
func wrapText(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// noCorpus stands in for a graph when tools run has no --root.
type noCorpus struct{}

var errNoCorpus = errors.New("no corpus to search: run `miroverse tools run` with --root ROOT (an output root with an ingested graph)")

func (noCorpus) Search(context.Context, string, int) ([]kg.SearchHit, error) { return nil, errNoCorpus }
func (noCorpus) DocByURL(context.Context, string) (kg.Doc, error)            { return kg.Doc{}, errNoCorpus }

// toolCall is one line of a calls file.
type toolCall struct {
	line int
	name string
	args string // the arguments JSON as the tool receives it
	err  error  // why the line cannot be run
}

// readCalls parses a calls file: one {"name": …, "arguments": {…} | "…"}
// per line; blank lines are skipped. A bad line is returned with its error
// so that the caller reports it in order and runs the rest.
func readCalls(r io.Reader) ([]toolCall, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxCallLine)
	var calls []toolCall
	n := 0
	for sc.Scan() {
		n++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		c := toolCall{line: n}
		c.name, c.args, c.err = parseCallLine(text)
		calls = append(calls, c)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return calls, fmt.Errorf("line %d is longer than %s", n+1, humanize.IBytes(maxCallLine))
		}
		return calls, err
	}
	return calls, nil
}

func parseCallLine(text string) (name, args string, err error) {
	var raw struct {
		Name      *string         `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return "", "", fmt.Errorf("not a JSON object of the form {\"name\": …, \"arguments\": {…}}: %v", err)
	}
	if dec.More() {
		return "", "", errors.New("text after the JSON object (one call per line)")
	}
	if raw.Name == nil || strings.TrimSpace(*raw.Name) == "" {
		return "", "", errors.New(`no "name" (the tool to call)`)
	}
	a := bytes.TrimSpace(raw.Arguments)
	switch {
	case len(a) == 0 || string(a) == "null":
		args = "{}"
	case a[0] == '{':
		var b bytes.Buffer
		if err := json.Compact(&b, a); err != nil {
			return "", "", fmt.Errorf("arguments: %v", err)
		}
		args = b.String()
	case a[0] == '"':
		// As in an OpenAI tool call: the arguments object encoded as a
		// string, passed on as it is, so a malformed one shows what the
		// tool says to the model about it.
		if err := json.Unmarshal(a, &args); err != nil {
			return "", "", fmt.Errorf("arguments: %v", err)
		}
	default:
		return "", "", fmt.Errorf("arguments must be a JSON object or a string holding one, got %s", clip(string(a), 40))
	}
	return strings.TrimSpace(*raw.Name), args, nil
}

// substituteSandboxID replaces a sandbox_id of sandboxIDVariable by id.
func substituteSandboxID(args, id string) string {
	if id == "" || !strings.Contains(args, sandboxIDVariable) {
		return args
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &m) != nil {
		return args
	}
	var v string
	if json.Unmarshal(m["sandbox_id"], &v) != nil || v != sandboxIDVariable {
		return args
	}
	m["sandbox_id"], _ = json.Marshal(id)
	// Without HTML escaping, so that the arguments still read as written
	// ("&&", not "\u0026\u0026").
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return args
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func isPythonTool(name string) bool { return trajectory.ServerOf(name) == trajectory.ServerPython }

// toolsRunOptions are the flags of `tools run`.
type toolsRunOptions struct {
	IO                      IO
	root, callsPath, config string
	sandbox                 sandboxFlags
}

func newToolsRunCmd(streams IO) *cobra.Command {
	opts := &toolsRunOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "run --calls FILE.jsonl [--root ROOT]",
		Short: "Run tool calls from a JSONL file in one tool session and print each result",
		Long: "Run the calls of FILE.jsonl in order, in one tool session as one rollout would: a sandbox created on one\n" +
			"line is there for the next, and every sandbox is removed at the end. Each line is\n\n" +
			"    {\"name\": \"run_python_code\", \"arguments\": {\"code_block\": \"print(1)\", \"sandbox_id\": \"$SANDBOX_ID\"}}\n\n" +
			"with the arguments as an object or as a JSON string holding one. A sandbox_id of $SANDBOX_ID means the\n" +
			"sandbox the latest create_sandbox returned. Results are printed as the model would get them: after each\n" +
			"header \"=== FILE:LINE tool (MCP server)\" come the arguments (-->), the time taken (<--) and the result.\n\n" +
			"google_search and scrape_and_extract_info read the graph of --root. scrape_and_extract_info runs without\n" +
			"the extractor LLM here: it returns the page text the extractor would read (as extracted_info of the JSON\n" +
			"answer unless synthesize.scrape_result is text). The tool-python tools run in the code sandbox when\n" +
			"synthesize.python_tools is true (the default); if the file calls them and the sandbox cannot start on\n" +
			"this machine, nothing runs and the reason is printed.\n\n" +
			"A bad line is reported with its file and line number and skipped; the other lines still run, and the\n" +
			"exit status is 1. Tool errors ([ERROR]: results, or JSON with success false) are results like any other\n" +
			"and leave it at 0. upload_file_from_local_to_sandbox reads synthesize.sandbox.local_files of --config.",
		Example: "  miroverse tools run --root out/demo --calls calls.jsonl\n" +
			"  echo '{\"name\":\"google_search\",\"arguments\":{\"q\":\"Ada Lovelace\"}}' | miroverse tools run --root out/demo --calls -\n" +
			"  miroverse tools run --calls sandbox-check.jsonl --wall 5s",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return toolsRunRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.root, "root", "", "output root whose graph the search and scrape tools read")
	cmd.Flags().StringVar(&opts.callsPath, "calls", "", "JSONL file of calls, one {\"name\",\"arguments\"} per line; - reads stdin")
	cmd.Flags().StringVar(&opts.config, "config", "", "run config (YAML): graph backend, synthesize.python_tools, sandbox limits")
	_ = cmd.MarkFlagRequired("calls")
	opts.sandbox.bind(cmd)
	return cmd
}

func toolsRunRun(ctx context.Context, opts *toolsRunOptions) error {
	cfg, err := loadConfig(opts.config)
	if err != nil {
		return err
	}
	if err := opts.sandbox.apply(&cfg.Synthesize.Sandbox); err != nil {
		return err
	}
	return runToolCalls(ctx, opts.IO, cfg, opts.root, opts.callsPath)
}

func runToolCalls(ctx context.Context, streams IO, cfg pipeline.Config, root, callsPath string) error {
	stdout, stderr := streams.Out, streams.ErrOut
	in := streams.In
	name := "stdin"
	if callsPath != "-" {
		f, err := os.Open(callsPath)
		if err != nil {
			return fmt.Errorf("tools run: %w", err)
		}
		defer f.Close()
		in, name = f, callsPath
	}
	calls, readErr := readCalls(in)
	if readErr != nil {
		readErr = fmt.Errorf("%s: %w", name, readErr)
	}

	var corpus toolset.Corpus = noCorpus{}
	if root != "" {
		st, err := pipeline.OpenGraph(ctx, cfg, root)
		if err != nil {
			return fmt.Errorf("tools run --root %s: %w", root, err)
		}
		defer st.Close()
		corpus = st
	}
	topts, err := cfg.Synthesize.ToolOptions()
	if err != nil {
		return fmt.Errorf("tools run: %w", err)
	}
	tools := toolset.New(corpus, nil).WithOptions(topts)
	needSandbox := false
	for _, c := range calls {
		needSandbox = needSandbox || (c.err == nil && isPythonTool(c.name))
	}
	if needSandbox && cfg.Synthesize.PythonTools {
		m, err := pipeline.NewSandbox(ctx, cfg.Synthesize.Sandbox)
		if err != nil {
			return fmt.Errorf("tools run: %w", err)
		}
		defer m.Close()
		tools = tools.WithSandbox(m)
	}

	sess := tools.Open()
	defer sess.Close()
	bad, ran, toolErrs := 0, 0, 0
	lastSandbox := ""
	for _, c := range calls {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.err != nil {
			bad++
			fmt.Fprintf(stderr, "miroverse: %s:%d: %v; line skipped\n", name, c.line, c.err)
			continue
		}
		args := substituteSandboxID(c.args, lastSandbox)
		server := trajectory.ServerOf(c.name)
		if server == "" {
			server = "no such tool"
		}
		fmt.Fprintf(stdout, "=== %s:%d %s (%s)\n", name, c.line, c.name, server)
		fmt.Fprintf(stdout, "--> %s\n", clip(args, 400))
		start := time.Now()
		result := trajectory.TruncateToolResult(sess.Call(ctx, c.name, args))
		ran++
		if trajectory.IsToolError(result) {
			toolErrs++
		}
		if id, ok := toolset.CreatedSandboxID(result); ok {
			lastSandbox = id
		}
		fmt.Fprintf(stdout, "<-- %.2fs, %s characters\n", time.Since(start).Seconds(), humanize.Comma(int64(utf8.RuneCountInString(result))))
		fmt.Fprint(stdout, result)
		if !strings.HasSuffix(result, "\n") {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintln(stdout)
	}
	if err := sess.Close(); err != nil {
		fmt.Fprintf(stderr, "miroverse: %v\n", err)
	}
	fmt.Fprintf(stderr, "%s: %d calls run, %d failed (%s or success false), %d bad lines skipped\n", name, ran, toolErrs, trajectory.ToolErrorPrefix, bad)
	switch {
	case readErr != nil:
		return readErr
	case bad > 0:
		return fmt.Errorf("%s: %d bad line(s), see the messages above", name, bad)
	}
	return nil
}
