// Command benchagent measures what the agent runtime costs on top of the
// LLM, with the built-in oracle as the LLM:
//
//	go run ./scripts/benchagent            # or: make bench
//
// It builds a small output root from configs/demo.yaml in a temporary
// directory (ingest, sample and qa of the demo corpus through the pipeline
// package), serves the oracle from a child process with the answer keys of
// that root (pipeline.LoadAnswerKeys, as `miroverse oracle serve --root`
// does), and runs rollouts as the synthesize stage does: react.Agent
// with the config's policy, the production LLM client (llm.New) for the
// agent and extractor roles, toolset.New over the embedded store;
// questions cycle over the kept ones with a distinct seed per rollout. It
// measures:
//
//   - runtime per step with an instant oracle (delay 0), one rollout at a
//     time: rollout wall time minus the wall time spent inside Chat calls
//     (agent and extractor, HTTP to the oracle included), per agent turn
//     (one agent LLM call and the tools it asks for) and per tool call;
//   - rollouts/s with the oracle delaying every reply by -delay at
//     -inflight rollouts in flight, against the Little's-law ideal
//     inflight / (LLM calls per rollout × delay): every call of a rollout,
//     the extractor calls made by scrape included, is on its critical path;
//   - peak RSS during that run minus the RSS just before it, per rollout in
//     flight.
//
// The oracle runs in its own process so that its memory (it holds each
// request for the delay) is not counted as ours; it shares the cores, and
// its CPU time is reported beside ours and the rest of the machine's, since
// on a small machine the throughput ratio is a matter of CPU. The TCP
// connections the clients open are counted; -max-idle 2 shows a client that
// keeps only 2 idle connections, like http.DefaultTransport per host. Like
// the other bench programs it prints a table with the goals and exits
// non-zero only when it could not measure.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/kg/embedded"
	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/oracle"
	"github.com/miroverse/miroverse/qa"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/react"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// Goals of issue 5.
const (
	goalThroughput = 0.9 // actual / ideal rollouts/s
	goalMBPerRun   = 1.0 // MB of RSS per rollout in flight
)

func main() {
	var (
		config   = flag.String("config", filepath.Join(repoRoot(), "configs", "demo.yaml"), "run config whose stages up to qa make the questions")
		inflight = flag.Int("inflight", 256, "rollouts in flight in the throughput run")
		rollouts = flag.Int("rollouts", 2048, "rollouts of the throughput run (at least 3× -inflight)")
		delay    = flag.Duration("delay", 200*time.Millisecond, "oracle delay per reply in the throughput run")
		serial   = flag.Int("serial", 300, "rollouts of the one-at-a-time run")
		maxIdle  = flag.Int("max-idle", -1, "set http.DefaultTransport's MaxIdleConns (0: no bound) before the clients are made; -1 leaves it; 2 behaves like a client with 2 idle connections per host")
		keep     = flag.String("root", "", "build the output root here and keep it (default: a temporary directory)")
		cpuprof  = flag.String("cpuprofile", "", "write a CPU profile of the rollouts (not the setup) here")
		child    = flag.String("serve-oracle", "", "internal: serve the oracle with the answer keys of this root")
		delays   = flag.String("delays", "", "internal: with -serve-oracle, one server per comma-separated delay")
	)
	flag.Parse()
	ctx := context.Background()
	if *child != "" {
		if err := serveOracle(ctx, *child, *config, *delays); err != nil {
			fmt.Fprintln(os.Stderr, "benchagent oracle:", err)
			os.Exit(1)
		}
		return
	}
	if *rollouts < 3**inflight {
		fmt.Fprintln(os.Stderr, "benchagent: -rollouts must be at least 3× -inflight")
		os.Exit(2)
	}
	o := options{config: *config, root: *keep, cpuprofile: *cpuprof, inflight: *inflight, rollouts: *rollouts,
		serial: *serial, delay: *delay, maxIdle: *maxIdle}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "benchagent:", err)
		os.Exit(1)
	}
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// options are the flags of a measuring run.
type options struct {
	config, root, cpuprofile   string
	inflight, rollouts, serial int
	delay                      time.Duration
	maxIdle                    int
}

func run(ctx context.Context, o options) error {
	root := o.root
	if root == "" {
		dir, err := os.MkdirTemp("", "benchagent-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		root = dir
	}
	start := time.Now()
	cfg, questions, err := buildRoot(ctx, o.config, root)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchagent: %d kept questions in %s (%s)\n", len(questions), root, time.Since(start).Round(time.Millisecond))

	store, err := embedded.Open(ctx, filepath.Join(root, "graph", "kg.db"))
	if err != nil {
		return err
	}
	defer store.Close()
	urls, oraclePID, stop, err := startOracle(root, o.config, []time.Duration{0, o.delay})
	if err != nil {
		return err
	}
	defer stop()

	// llm.New builds its transport from http.DefaultTransport; counting the
	// dials there shows whether calls reuse keep-alive connections.
	base := http.DefaultTransport.(*http.Transport)
	dial := base.DialContext
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	if o.maxIdle >= 0 {
		base.MaxIdleConns = o.maxIdle
	}

	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ov, err := measureSerial(ctx, cfg, store, urls[0], questions, o.serial)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchagent: one-at-a-time run done (%d rollouts, %s)\n", o.serial, ov.wall.Round(time.Millisecond))
	tp, err := measureThroughput(ctx, cfg, store, urls[1], questions, o.inflight, o.rollouts, oraclePID)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchagent: %d in flight run done (%d rollouts, %s)\n", o.inflight, o.rollouts, tp.wall.Round(time.Millisecond))
	printTable(os.Stdout, ov, tp, o)
	return nil
}

// dials counts the TCP connections the LLM clients opened.
var dials atomic.Int64

// buildRoot runs ingest, sample and qa of the config into root and returns
// the kept questions.
func buildRoot(ctx context.Context, configPath, root string) (pipeline.Config, []qa.Item, error) {
	cfg, err := pipeline.LoadConfig(configPath)
	if err != nil {
		return cfg, nil, err
	}
	for i, p := range cfg.Input.Paths {
		if !filepath.IsAbs(p) {
			cfg.Input.Paths[i] = filepath.Join(repoRoot(), p)
		}
	}
	r, err := pipeline.Open(ctx, cfg, root, pipeline.Options{})
	if err != nil {
		return cfg, nil, err
	}
	err = r.Ingest(ctx, cfg.Input.Paths)
	if err == nil {
		err = r.Sample(ctx)
	}
	if err == nil {
		err = r.QA(ctx)
	}
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cfg, nil, err
	}
	st, err := pipeline.OpenState(ctx, filepath.Join(root, "state.db"))
	if err != nil {
		return cfg, nil, err
	}
	defer st.Close()
	var kept []qa.Item
	err = st.Each(ctx, pipeline.StageQA, func(rec pipeline.Record) error {
		var it qa.Item
		if err := json.Unmarshal(rec.Payload, &it); err != nil {
			return err
		}
		if it.Status == qa.StatusKept {
			kept = append(kept, it)
		}
		return nil
	})
	if err == nil && len(kept) == 0 {
		err = errors.New("the qa stage kept no question")
	}
	return cfg, kept, err
}

// serveOracle is the child process: one oracle per delay, each URL on its
// own line of stdout, until stdin closes.
func serveOracle(ctx context.Context, root, configPath, delays string) error {
	cfg, err := pipeline.LoadConfig(configPath)
	if err != nil {
		return err
	}
	keys, _, err := pipeline.LoadAnswerKeys(ctx, root)
	if err != nil {
		return err
	}
	for _, d := range strings.Split(delays, ",") {
		delay, err := time.ParseDuration(d)
		if err != nil {
			return err
		}
		srv, err := oracle.Start(ctx, oracle.Config{
			Keys:       keys,
			ErrorRate:  cfg.LLM.Oracle.ErrorRate,
			DetourRate: cfg.LLM.Oracle.DetourRate,
			Delay:      delay,
		}, "")
		if err != nil {
			return err
		}
		fmt.Println(srv.URL())
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent holds stdin open while it needs us
	return nil
}

// startOracle re-executes this program as the oracle child and returns the
// URLs of its servers, in the order of delays, and its pid.
func startOracle(root, configPath string, delays []time.Duration) ([]string, int, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, nil, err
	}
	ds := make([]string, len(delays))
	for i, d := range delays {
		ds[i] = d.String()
	}
	cmd := exec.Command(exe, "-serve-oracle", root, "-config", configPath, "-delays", strings.Join(ds, ","))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, nil, err
	}
	stop := func() {
		in.Close()
		_ = cmd.Wait()
	}
	sc := bufio.NewScanner(out)
	var urls []string
	for len(urls) < len(delays) && sc.Scan() {
		urls = append(urls, strings.TrimSpace(sc.Text()))
	}
	if len(urls) < len(delays) {
		stop()
		return nil, 0, nil, fmt.Errorf("oracle child printed %d of %d URLs", len(urls), len(delays))
	}
	return urls, cmd.Process.Pid, stop, nil
}

// timed is a Chatter that counts its calls and the wall time spent in them.
type timed struct {
	next  llm.Chatter
	calls atomic.Int64
	nanos atomic.Int64
}

func (t *timed) Chat(ctx context.Context, req openai.ChatCompletionRequest) (llm.Reply, error) {
	start := time.Now()
	reply, err := t.next.Chat(ctx, req)
	t.nanos.Add(int64(time.Since(start)))
	t.calls.Add(1)
	return reply, err
}

func (t *timed) Model() string { return t.next.Model() }

// rig is one agent with its two counted clients.
type rig struct {
	agent          *react.Agent
	llm, extractor *timed
}

func (r *rig) calls() int64 { return r.llm.calls.Load() + r.extractor.calls.Load() }

func (r *rig) inChat() time.Duration {
	return time.Duration(r.llm.nanos.Load() + r.extractor.nanos.Load())
}

// newRig builds the agent as the synthesize stage does: production clients
// for the agent and extractor roles sharing one adaptive limiter (as roles
// on one endpoint do), the toolset over store, the config's policy. The
// limiter's ceiling is maxInFlight, the pipeline's `concurrency`: a run
// with that many rollouts in flight needs at least that much.
func newRig(cfg pipeline.Config, store *embedded.Store, url string, maxInFlight int) *rig {
	limiter := llm.NewLimiter("oracle", maxInFlight, nil)
	client := func(role string) *timed {
		ep := cfg.Endpoint(role)
		return &timed{next: llm.New(role, llm.Endpoint{
			BaseURL: url, Model: ep.Model, Timeout: ep.Timeout, MaxRetries: ep.MaxRetries, Limiter: limiter,
		})}
	}
	r := &rig{llm: client(llm.RoleAgent), extractor: client(llm.RoleExtractor)}
	s := cfg.Synthesize
	p := react.DefaultPolicy()
	p.Mode, p.KeepToolResults, p.MaxTurns, p.MaxTokens = s.Mode, s.KeepToolResults, s.MaxTurns, s.MaxTokens
	p.ContextTokens, p.Temperature, p.TopP, p.MaxRollbacks = s.ContextTokens, s.Temperature, s.TopP, s.MaxRollbacks
	r.agent = &react.Agent{LLM: r.llm, Tools: toolset.New(store, r.extractor), Policy: p}
	return r
}

func task(questions []qa.Item, i int) trajectory.Task {
	it := questions[i%len(questions)]
	return trajectory.Task{QAID: it.ID, Question: it.Question}
}

// serial is the result of the one-at-a-time run.
type serial struct {
	rollouts, failed                 int
	turns, toolCalls, extractorCalls int64
	wall, inChat, cpu                time.Duration
	medianPerTurn                    time.Duration // of the per-rollout runtime per turn
	dials                            int64
}

func (s serial) runtime() time.Duration { return s.wall - s.inChat }

// measureSerial runs n rollouts one at a time against the instant oracle,
// after a short warm-up. The runtime of a rollout is its wall time minus
// the wall time inside its Chat calls.
func measureSerial(ctx context.Context, cfg pipeline.Config, store *embedded.Store, url string, questions []qa.Item, n int) (serial, error) {
	r := newRig(cfg, store, url, 1)
	for i := range min(max(n/10, 1), len(questions)) { // warm caches and the connection
		if _, err := r.agent.Run(ctx, task(questions, i), int64(1_000_000+i)); err != nil {
			return serial{}, err
		}
	}
	s := serial{rollouts: n}
	turns0, ext0, dials0 := r.llm.calls.Load(), r.extractor.calls.Load(), dials.Load()
	perTurn := make([]time.Duration, 0, n)
	cpu0 := cpuTime(os.Getpid())
	for i := range n {
		chat0, calls0 := r.inChat(), r.llm.calls.Load()
		start := time.Now()
		ro, err := r.agent.Run(ctx, task(questions, i), int64(i))
		wall := time.Since(start)
		if err != nil {
			return s, err
		}
		inChat := r.inChat() - chat0
		s.wall += wall
		s.inChat += inChat
		s.toolCalls += int64(ro.NumToolCalls)
		if ro.Status == trajectory.StatusFailed {
			s.failed++
		}
		if turns := r.llm.calls.Load() - calls0; turns > 0 {
			perTurn = append(perTurn, (wall-inChat)/time.Duration(turns))
		}
	}
	s.cpu = cpuTime(os.Getpid()) - cpu0
	s.turns = r.llm.calls.Load() - turns0
	s.extractorCalls = r.extractor.calls.Load() - ext0
	s.dials = dials.Load() - dials0
	slices.Sort(perTurn)
	if len(perTurn) > 0 {
		s.medianPerTurn = perTurn[len(perTurn)/2]
	}
	return s, nil
}

// throughput is the result of the run at -inflight rollouts in flight.
type throughput struct {
	rollouts, failed int
	firstFail        string
	calls            int64 // agent + extractor calls of all rollouts
	dials            int64
	wall             time.Duration
	// The steady window: rollouts completed and calls returned in it.
	windowRollouts int
	windowCalls    int64
	window         time.Duration
	// Memory, kB: RSS before, peak RSS during (VmHWM after a reset when hwm,
	// else the largest VmRSS sampled every 5 ms).
	baseKB, peakKB int64
	hwm            bool
	// CPU time over the run: ours, the oracle's, and the machine's (all
	// processes, from /proc/stat).
	selfCPU, oracleCPU, machineCPU time.Duration
}

// completion is one finished rollout: when, and how many LLM calls had
// returned by then.
type completion struct {
	at    time.Duration
	calls int64
}

// measureThroughput runs n rollouts with inflight workers against the
// delayed oracle. The steady window runs from the inflight-th completion
// (the first wave, which started in lockstep, is over) to the
// (n−inflight)-th, when the last rollout is handed out: in between,
// exactly inflight rollouts are in flight.
func measureThroughput(ctx context.Context, cfg pipeline.Config, store *embedded.Store, url string, questions []qa.Item, inflight, n, oraclePID int) (throughput, error) {
	r := newRig(cfg, store, url, inflight)
	tp := throughput{rollouts: n}

	runtime.GC()
	debug.FreeOSMemory()
	tp.baseKB = statusKB("VmRSS")
	tp.hwm = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil // resets VmHWM to VmRSS
	var sampledKB atomic.Int64
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				if kb := statusKB("VmRSS"); kb > sampledKB.Load() {
					sampledKB.Store(kb)
				}
			}
		}
	})

	var (
		mu     sync.Mutex
		done   = make([]completion, 0, n)
		runErr error
		wg     sync.WaitGroup
	)
	jobs := make(chan int)
	dials0 := dials.Load()
	self0, oracle0, machine0 := cpuTime(os.Getpid()), cpuTime(oraclePID), machineCPU()
	start := time.Now()
	for range inflight {
		wg.Go(func() {
			for i := range jobs {
				ro, err := r.agent.Run(ctx, task(questions, i), int64(i))
				c := completion{at: time.Since(start), calls: r.calls()}
				mu.Lock()
				done = append(done, c)
				if err != nil && runErr == nil {
					runErr = err
				}
				if ro.Status == trajectory.StatusFailed {
					tp.failed++
					if tp.firstFail == "" {
						tp.firstFail = ro.FailReason
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	tp.wall = time.Since(start)
	tp.selfCPU, tp.oracleCPU, tp.machineCPU = cpuTime(os.Getpid())-self0, cpuTime(oraclePID)-oracle0, machineCPU()-machine0
	close(stopSampling)
	sampling.Wait()
	if runErr != nil {
		return tp, runErr
	}
	tp.peakKB = sampledKB.Load()
	if tp.hwm {
		tp.peakKB = max(statusKB("VmHWM"), tp.peakKB)
	}
	tp.calls = r.calls()
	tp.dials = dials.Load() - dials0
	lo, hi := done[inflight-1], done[n-inflight-1]
	tp.windowRollouts = n - 2*inflight
	tp.windowCalls = hi.calls - lo.calls
	tp.window = hi.at - lo.at
	return tp, nil
}

// userHZ is the unit of the CPU times in /proc: 100 on every Linux
// architecture Go supports.
const userHZ = 100

// cpuTime is the user+system CPU time of a process so far, from
// /proc/PID/stat; 0 when it cannot be read.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces; utime and stime are the 14th and 15th of the line.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / userHZ
}

// machineCPU is the busy CPU time of the whole machine so far (all but
// idle and iowait), from the cpu line of /proc/stat.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for j, v := range f[1:] {
		if j == 3 || j == 4 || j >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / userHZ
}

// statusKB reads a kB field of /proc/self/status; 0 when it cannot.
func statusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printTable(w io.Writer, s serial, tp throughput, o options) {
	// (a) one at a time, instant oracle.
	perTurn := s.runtime() / time.Duration(max(s.turns, 1))
	perTool := s.runtime() / time.Duration(max(s.toolCalls, 1))
	callsPerRollout := float64(s.turns+s.extractorCalls) / float64(s.rollouts)
	// The share the runtime would have of a rollout whose every call took
	// the delay of the throughput run.
	atDelay := float64(s.runtime()) / (float64(s.runtime()) + callsPerRollout*float64(s.rollouts)*float64(o.delay))

	// (b) inflight rollouts, delayed oracle.
	meanCalls := float64(tp.calls) / float64(tp.rollouts)
	ideal := float64(o.inflight) / (meanCalls * o.delay.Seconds())
	actual := float64(tp.windowRollouts) / tp.window.Seconds()
	ratio := actual / ideal
	callRatio := float64(tp.windowCalls) / tp.window.Seconds() / (float64(o.inflight) / o.delay.Seconds())

	// (c) memory.
	how := "sampled VmRSS max"
	if tp.hwm {
		how = "VmHWM"
	}
	perRollout := float64(tp.peakKB-tp.baseKB) / 1024 / float64(o.inflight)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tmeasured\tgoal\tmet")
	fmt.Fprintf(tw, "agent runtime per step (instant oracle, 1 in flight, %d rollouts)\t%.0f µs/turn (median %.0f), %.0f µs/tool call; %.0f%% of wall time\t(reported)\t\n",
		s.rollouts, us(perTurn), us(s.medianPerTurn), us(perTool), 100*float64(s.runtime())/float64(s.wall))
	fmt.Fprintf(tw, "rollouts/s at %d in flight, oracle %s per reply (%d rollouts)\t%.1f/s vs ideal %.1f/s = %.2f×\t≥ %.1f×\t%s\n",
		o.inflight, o.delay, tp.rollouts, actual, ideal, ratio, goalThroughput, met(ratio >= goalThroughput && tp.failed == 0))
	fmt.Fprintf(tw, "memory per rollout in flight ((%s − VmRSS before) / %d)\t%.2f MB (%.0f → %.0f MB)\t≤ %.0f MB\t%s\n",
		how, o.inflight, perRollout, float64(tp.baseKB)/1024, float64(tp.peakKB)/1024, goalMBPerRun, met(perRollout <= goalMBPerRun))
	tw.Flush()

	cores := func(d time.Duration) float64 { return d.Seconds() / tp.wall.Seconds() }
	fmt.Fprintf(w, "  step = one agent turn: an agent LLM call and the tools it asks for; %.1f turns, %.1f tool calls and %.1f extractor calls per rollout;\n",
		float64(s.turns)/float64(s.rollouts), float64(s.toolCalls)/float64(s.rollouts), float64(s.extractorCalls)/float64(s.rollouts))
	fmt.Fprintf(w, "  runtime = wall time − wall time inside Chat (agent + extractor, HTTP included); at %s per call it would be %.2f%% of a rollout;\n",
		o.delay, 100*atDelay)
	fmt.Fprintf(w, "  our process used %.0f µs CPU per turn in that run, client side of the calls included; %d new connections for %d calls",
		us(s.cpu/time.Duration(max(s.turns, 1))), s.dials, s.turns+s.extractorCalls)
	if s.failed > 0 {
		fmt.Fprintf(w, "; %d rollouts failed", s.failed)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  ideal = %d / (%.2f calls per rollout × %s); actual = %d rollouts completed in the %.1f s while %d were in flight (calls: %.2f× of %d/%s);\n",
		o.inflight, meanCalls, o.delay, tp.windowRollouts, tp.window.Seconds(), o.inflight, callRatio, o.inflight, o.delay)
	fmt.Fprintf(w, "  CPU: ours %.2f cores (%.2f ms per call), oracle %.2f cores (%.2f ms per call), the rest of the machine %.2f of %d cores;\n",
		cores(tp.selfCPU), ms(tp.selfCPU)/float64(tp.calls), cores(tp.oracleCPU), ms(tp.oracleCPU)/float64(tp.calls),
		max(0, cores(tp.machineCPU-tp.selfCPU-tp.oracleCPU)), runtime.NumCPU())
	fmt.Fprintf(w, "  %d new connections for %d calls (http.DefaultTransport.MaxIdleConns %d)", tp.dials, tp.calls,
		http.DefaultTransport.(*http.Transport).MaxIdleConns)
	if tp.failed > 0 {
		fmt.Fprintf(w, "; %d rollouts failed, e.g. %.100s", tp.failed, tp.firstFail)
	}
	fmt.Fprintln(w)
}
