package k8s_test

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/pipeline/submit/k8s"
)

var update = flag.Bool("update", false, "rewrite configs/k8s/example.yaml from the example spec")

// exampleConfig is the run config of the example in configs/k8s/: dumps and
// output on a shared claim, the agent on a vLLM Service of the cluster.
const exampleConfig = `# The run every shard reads; configs/demo.yaml documents every key and its default.
seed: 42
workers: 32
# Below the pods' 16Gi memory limit, leaving room for what the budget does not cover.
memory_budget: 14GiB
input:
  paths:
    - /data/input/enwiki-pages-articles-multistream.xml.bz2
synthesize:
  rollouts: 4
  mode: mcp
  # The bubblewrap sandbox needs user namespaces, which many clusters do not give a pod.
  python_tools: false
llm:
  default:
    base_url: http://vllm.llm.svc.cluster.local:8000/v1
    model: miromind-ai/MiroThinker-v1.0-8B
    api_key_env: MIROVERSE_LLM_API_KEY
    concurrency: 32
`

func exampleSpec() k8s.Spec {
	return k8s.Spec{
		Name:        "enwiki-v1",
		Namespace:   "miroverse",
		Image:       "miroverse:dev",
		Config:      []byte(exampleConfig),
		Root:        "/data/out/enwiki-v1",
		Claim:       "miroverse-data",
		Shards:      16,
		Parallelism: 8,
		Retries:     k8s.DefaultRetries,
		NoRetry:     []int32{k8s.ExitConfig},
		CPU:         "4",
		Memory:      "16Gi",
		Wait:        48 * time.Hour,
		Secrets:     []string{"miroverse-llm"},
		NodeSelector: map[string]string{
			"kubernetes.io/arch": "amd64",
		},
		Tolerations: []corev1.Toleration{{
			Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule,
		}},
	}
}

// run is what one apply creates, decoded.
type run struct {
	config         *corev1.ConfigMap
	shards, commit *batchv1.Job
}

// decoder decodes YAML documents as the API server does with
// fieldValidation=Strict: by apiVersion and kind into the typed objects of
// a scheme, case-sensitively, with an unknown or duplicated field an error.
// Strict false is the lax decoder beside it, which drops what it does not
// know: the negative test shows the strictness by the difference.
func decoder(strict bool) runtime.Decoder {
	scheme := runtime.NewScheme()
	if err := errors.Join(batchv1.AddToScheme(scheme), corev1.AddToScheme(scheme)); err != nil {
		panic(err)
	}
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: strict})
}

// documents splits a multi-document YAML stream and drops the documents
// that are only comments.
func documents(data []byte) ([][]byte, error) {
	r := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var probe any
		if err := kyaml.Unmarshal(doc, &probe); err != nil {
			return nil, err
		}
		if probe != nil {
			docs = append(docs, doc)
		}
	}
}

// decode reads the manifests strictly and wants exactly a ConfigMap, the
// shard Job and the commit Job, in that order (the order kubectl applies
// them: the config exists before any pod mounts it).
func decode(data []byte, strict bool) (run, error) {
	docs, err := documents(data)
	if err != nil {
		return run{}, err
	}
	if len(docs) != 3 {
		return run{}, fmt.Errorf("%d documents, want 3", len(docs))
	}
	dec := decoder(strict)
	var objs []runtime.Object
	for i, doc := range docs {
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return run{}, fmt.Errorf("document %d: %w", i+1, err)
		}
		objs = append(objs, obj)
	}
	var r run
	var ok [3]bool
	r.config, ok[0] = objs[0].(*corev1.ConfigMap)
	r.shards, ok[1] = objs[1].(*batchv1.Job)
	r.commit, ok[2] = objs[2].(*batchv1.Job)
	if ok != [3]bool{true, true, true} {
		return run{}, fmt.Errorf("kinds %T, %T, %T: want ConfigMap, Job, Job", objs[0], objs[1], objs[2])
	}
	return r, nil
}

func TestManifests(t *testing.T) {
	objectStore := k8s.Spec{
		Name: "v1", Image: "miroverse:dev", Config: []byte("seed: 1\n"), Root: "s3://bucket/v1", Shards: 4,
	}
	tests := []struct {
		name         string
		spec         k8s.Spec
		parallel     int32
		noRetry      []int32 // the exit statuses of the FailIndex rule, sorted
		deadline     int64   // the commit Job's activeDeadlineSeconds; 0: none
		claim        bool
		env          []corev1.EnvVar
		resourcesSet bool
	}{
		{name: "example", spec: exampleSpec(), parallel: 8, noRetry: []int32{78}, deadline: 48 * 3600, claim: true, resourcesSet: true},
		{name: "object storage, all shards at once, no retry", spec: objectStore, parallel: 4},
		{
			name: "statuses sorted and once each, wait rounded up, plain env",
			spec: func() k8s.Spec {
				s := objectStore
				s.Name, s.Shards, s.Parallelism, s.Retries = "big", 1000, 50, 5
				s.NoRetry = []int32{78, 64, 78}
				s.Wait = 90*time.Minute + 500*time.Millisecond
				s.Env = map[string]string{"MIROVERSE_ORACLE_FAULT_RATE": "0.1", "AWS_REGION": "eu-central-1"}
				s.Secrets = []string{"llm-keys", "storage-keys"}
				s.ServiceAccount = "miroverse"
				s.CPU = "500m"
				return s
			}(),
			parallel: 50, noRetry: []int32{64, 78}, deadline: 90*60 + 1, resourcesSet: true,
			env: []corev1.EnvVar{{Name: "AWS_REGION", Value: "eu-central-1"}, {Name: "MIROVERSE_ORACLE_FAULT_RATE", Value: "0.1"}},
		},
		{
			name: "local root on a claim, one shard",
			spec: func() k8s.Spec {
				s := objectStore
				s.Root, s.Claim, s.Shards = "file:///data/out/v1", "shared", 1
				return s
			}(),
			parallel: 1, claim: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := k8s.Manifests(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			r, err := decode(out, true)
			if err != nil {
				t.Fatalf("strict decoding: %v\n%s", err, out)
			}
			s := tc.spec
			checkConfigMap(t, r.config, s)

			// The shard Job: Indexed, N completions, P at a time, retries per
			// shard, disruptions ignored, config errors fatal to the shard.
			j := r.shards.Spec
			if r.shards.Name != s.Name+"-shards" || r.shards.Namespace != s.Namespace {
				t.Errorf("shard Job %s/%s", r.shards.Namespace, r.shards.Name)
			}
			if j.CompletionMode == nil || *j.CompletionMode != batchv1.IndexedCompletion {
				t.Errorf("completionMode %v, want Indexed", deref(j.CompletionMode))
			}
			if deref(j.Completions) != s.Shards {
				t.Errorf("completions %d, want %d", deref(j.Completions), s.Shards)
			}
			if deref(j.Parallelism) != tc.parallel {
				t.Errorf("parallelism %d, want %d", deref(j.Parallelism), tc.parallel)
			}
			if j.BackoffLimitPerIndex == nil || *j.BackoffLimitPerIndex != s.Retries {
				t.Errorf("backoffLimitPerIndex %v, want %d", j.BackoffLimitPerIndex, s.Retries)
			}
			if j.BackoffLimit != nil || j.MaxFailedIndexes != nil || j.ActiveDeadlineSeconds != nil {
				t.Errorf("backoffLimit %v, maxFailedIndexes %v, activeDeadlineSeconds %v: want them unset (every shard runs to its end)",
					j.BackoffLimit, j.MaxFailedIndexes, j.ActiveDeadlineSeconds)
			}
			checkPolicy(t, "shard Job", j, batchv1.PodFailurePolicyActionFailIndex, tc.noRetry)
			sc := checkPod(t, "shard Job", r.shards, s, "shard", tc.claim)
			wantArgs := []string{"run", "--config", k8s.ConfigPath, "--out", s.Root, "--shards", fmt.Sprint(s.Shards)}
			if !slices.Equal(sc.Command, []string{"miroverse"}) || !slices.Equal(sc.Args, wantArgs) {
				t.Errorf("shard command %q %q, want miroverse %q", sc.Command, sc.Args, wantArgs)
			}

			// The commit Job: one pod, commit --wait on the same root.
			c := r.commit.Spec
			if r.commit.Name != s.Name+"-commit" {
				t.Errorf("commit Job named %s", r.commit.Name)
			}
			if c.CompletionMode != nil || deref(c.Completions) != 1 || deref(c.Parallelism) != 1 {
				t.Errorf("commit Job: completionMode %v, completions %d, parallelism %d; want NonIndexed, 1, 1",
					deref(c.CompletionMode), deref(c.Completions), deref(c.Parallelism))
			}
			if c.BackoffLimit == nil || *c.BackoffLimit != s.Retries {
				t.Errorf("commit backoffLimit %v, want %d", c.BackoffLimit, s.Retries)
			}
			if deref(c.ActiveDeadlineSeconds) != tc.deadline {
				t.Errorf("commit activeDeadlineSeconds %d, want %d", deref(c.ActiveDeadlineSeconds), tc.deadline)
			}
			checkPolicy(t, "commit Job", c, batchv1.PodFailurePolicyActionFailJob, tc.noRetry)
			cc := checkPod(t, "commit Job", r.commit, s, "commit", tc.claim)
			wantArgs = []string{"commit", "--out", s.Root, "--shards", fmt.Sprint(s.Shards), "--wait"}
			if !slices.Equal(cc.Command, []string{"miroverse"}) || !slices.Equal(cc.Args, wantArgs) {
				t.Errorf("commit command %q %q, want miroverse %q", cc.Command, cc.Args, wantArgs)
			}

			for _, ctr := range []*corev1.Container{sc, cc} {
				// The cache dir first: the pod's local state lives on its emptyDir.
				wantEnv := append([]corev1.EnvVar{{Name: k8s.CacheEnv, Value: k8s.CachePath}}, tc.env...)
				if !slices.Equal(ctr.Env, wantEnv) {
					t.Errorf("env %v, want %v", ctr.Env, wantEnv)
				}
				checkResources(t, ctr.Resources, s, tc.resourcesSet)
			}
		})
	}
}

func checkConfigMap(t *testing.T, cm *corev1.ConfigMap, s k8s.Spec) {
	t.Helper()
	if cm.Name != s.Name+"-config" || cm.Namespace != s.Namespace {
		t.Errorf("ConfigMap %s/%s", cm.Namespace, cm.Name)
	}
	if cm.Immutable == nil || !*cm.Immutable {
		t.Error("ConfigMap not immutable")
	}
	if len(cm.Data) != 1 || cm.Data[filepath.Base(k8s.ConfigPath)] != string(s.Config) || len(cm.BinaryData) != 0 {
		t.Errorf("ConfigMap data %q, want the config byte for byte under %s", cm.Data, filepath.Base(k8s.ConfigPath))
	}
	checkLabels(t, "ConfigMap", cm.Labels, s, "config")
}

// checkPolicy: the rules the API server would check (FailIndex only with a
// per-index backoff, values sorted and distinct and never 0, the
// container named exists) and the ones the run needs (disruptions first
// and ignored, pods never restarted in place, one pod per shard at a time).
func checkPolicy(t *testing.T, what string, j batchv1.JobSpec, fatal batchv1.PodFailurePolicyAction, noRetry []int32) {
	t.Helper()
	if j.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("%s: restartPolicy %q, want Never", what, j.Template.Spec.RestartPolicy)
	}
	if j.PodReplacementPolicy == nil || *j.PodReplacementPolicy != batchv1.Failed {
		t.Errorf("%s: podReplacementPolicy %v, want Failed", what, deref(j.PodReplacementPolicy))
	}
	if j.PodFailurePolicy == nil || len(j.PodFailurePolicy.Rules) == 0 {
		t.Fatalf("%s: no pod failure policy", what)
	}
	rules := j.PodFailurePolicy.Rules
	first := rules[0]
	if first.Action != batchv1.PodFailurePolicyActionIgnore || first.OnExitCodes != nil ||
		!slices.Equal(first.OnPodConditions, []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}) {
		t.Errorf("%s: first rule %+v, want Ignore on DisruptionTarget=True", what, first)
	}
	if len(noRetry) == 0 {
		if len(rules) != 1 {
			t.Errorf("%s: %d rules, want only the disruption rule", what, len(rules))
		}
		return
	}
	if len(rules) != 2 {
		t.Fatalf("%s: %d rules, want 2", what, len(rules))
	}
	r := rules[1]
	if r.Action != fatal || r.OnExitCodes == nil || len(r.OnPodConditions) != 0 {
		t.Fatalf("%s: second rule %+v, want %s on exit codes", what, r, fatal)
	}
	if fatal == batchv1.PodFailurePolicyActionFailIndex && j.BackoffLimitPerIndex == nil {
		t.Errorf("%s: FailIndex without backoffLimitPerIndex", what)
	}
	ec := r.OnExitCodes
	if ec.Operator != batchv1.PodFailurePolicyOnExitCodesOpIn || !slices.Equal(ec.Values, noRetry) {
		t.Errorf("%s: exit codes %s %v, want In %v", what, ec.Operator, ec.Values, noRetry)
	}
	if ec.ContainerName == nil || *ec.ContainerName != j.Template.Spec.Containers[0].Name {
		t.Errorf("%s: exit-code rule on container %v, not the pod's", what, ec.ContainerName)
	}
}

// checkPod returns the pod's one container after checking what every pod
// of the run shares: image, labels, the config volume, the claim, secrets
// by reference only, no API token, scheduling.
func checkPod(t *testing.T, what string, job *batchv1.Job, s k8s.Spec, component string, claim bool) *corev1.Container {
	t.Helper()
	checkLabels(t, what, job.Labels, s, component)
	checkLabels(t, what+" pods", job.Spec.Template.Labels, s, component)
	p := job.Spec.Template.Spec
	if len(p.Containers) != 1 || len(p.InitContainers) != 0 {
		t.Fatalf("%s: %d containers and %d init containers, want 1 and 0", what, len(p.Containers), len(p.InitContainers))
	}
	c := &p.Containers[0]
	if c.Image != s.Image {
		t.Errorf("%s: image %q", what, c.Image)
	}
	if p.ServiceAccountName != s.ServiceAccount || p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
		t.Errorf("%s: service account %q, automount %v; want %q without a token", what, p.ServiceAccountName, p.AutomountServiceAccountToken, s.ServiceAccount)
	}
	if !maps.Equal(p.NodeSelector, s.NodeSelector) || !slices.EqualFunc(p.Tolerations, s.Tolerations, func(a, b corev1.Toleration) bool { return a.MatchToleration(&b) }) {
		t.Errorf("%s: nodeSelector %v tolerations %v", what, p.NodeSelector, p.Tolerations)
	}
	// Credentials only by reference: every Secret named, nothing else read
	// from anywhere, no variable named like a credential.
	var refs []string
	for _, e := range c.EnvFrom {
		if e.SecretRef == nil || e.ConfigMapRef != nil || e.Prefix != "" {
			t.Errorf("%s: envFrom %+v, want a Secret reference", what, e)
			continue
		}
		refs = append(refs, e.SecretRef.Name)
	}
	if !slices.Equal(refs, s.Secrets) {
		t.Errorf("%s: envFrom Secrets %v, want %v", what, refs, s.Secrets)
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil || e.Name == k8s.IndexEnv {
			t.Errorf("%s: env %s set from %v", what, e.Name, e.ValueFrom)
		}
		for _, w := range []string{"KEY", "TOKEN", "SECRET", "PASSWORD"} {
			if strings.Contains(strings.ToUpper(e.Name), w) {
				t.Errorf("%s: a literal %s in the manifest", what, e.Name)
			}
		}
	}
	// Volumes: the ConfigMap at the config's directory, read-only; the claim at ClaimPath.
	vols := map[string]corev1.Volume{}
	for _, v := range p.Volumes {
		vols[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("%s: mount of volume %q, which the pod lacks", what, m.Name)
		}
	}
	cfg, ok := mounts[filepath.Dir(k8s.ConfigPath)]
	if !ok || !cfg.ReadOnly || vols[cfg.Name].ConfigMap == nil || vols[cfg.Name].ConfigMap.Name != s.Name+"-config" {
		t.Errorf("%s: config mount %+v of %+v", what, cfg, vols[cfg.Name])
	}
	if cache, ok := mounts[k8s.CachePath]; !ok || vols[cache.Name].EmptyDir == nil {
		t.Errorf("%s: no emptyDir at %s for the local cache: %+v", what, k8s.CachePath, vols[cache.Name])
	}
	data, ok := mounts[k8s.ClaimPath]
	if ok != claim {
		t.Errorf("%s: claim mounted %v, want %v", what, ok, claim)
	}
	if claim && (vols[data.Name].PersistentVolumeClaim == nil || vols[data.Name].PersistentVolumeClaim.ClaimName != s.Claim) {
		t.Errorf("%s: %s holds %+v, want claim %q", what, k8s.ClaimPath, vols[data.Name], s.Claim)
	}
	if len(p.Volumes) != len(c.VolumeMounts) {
		t.Errorf("%s: %d volumes for %d mounts", what, len(p.Volumes), len(c.VolumeMounts))
	}
	return c
}

func checkLabels(t *testing.T, what string, got map[string]string, s k8s.Spec, component string) {
	t.Helper()
	want := map[string]string{
		"app.kubernetes.io/name":      "miroverse",
		"app.kubernetes.io/instance":  s.Name,
		"app.kubernetes.io/component": component,
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s: labels %v, want %v", what, got, want)
	}
}

func checkResources(t *testing.T, got corev1.ResourceRequirements, s k8s.Spec, set bool) {
	t.Helper()
	if !set {
		if len(got.Requests) != 0 || len(got.Limits) != 0 {
			t.Errorf("resources %v, want none", got)
		}
		return
	}
	want := corev1.ResourceList{}
	if s.CPU != "" {
		want[corev1.ResourceCPU] = resource.MustParse(s.CPU)
	}
	if s.Memory != "" {
		want[corev1.ResourceMemory] = resource.MustParse(s.Memory)
	}
	for name, list := range map[string]corev1.ResourceList{"requests": got.Requests, "limits": got.Limits} {
		if len(list) != len(want) {
			t.Errorf("%s %v, want %v", name, list, want)
		}
		for k, q := range want {
			if g, ok := list[k]; !ok || g.Cmp(q) != 0 {
				t.Errorf("%s %s = %v, want %v", name, k, list[k], &q)
			}
		}
	}
}

// TestStrictness: a misspelt, differently cased, misplaced or repeated
// field fails the strict decoding that TestManifests uses, while the lax
// decoder takes the same text and drops the field without a word. So a
// manifest that passes is one whose every field Kubernetes reads.
func TestStrictness(t *testing.T) {
	out, err := k8s.Manifests(exampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, old, new, want string }{
		{"misspelt field", "completionMode: Indexed", "completionMod: Indexed", `unknown field "spec.completionMod"`},
		{"wrong case", "backoffLimitPerIndex: 3", "backoffLimitperIndex: 3", `unknown field "spec.backoffLimitperIndex"`},
		{"misspelt in the pod", "restartPolicy: Never", "restartPolicyy: Never", `unknown field "spec.template.spec.restartPolicyy"`},
		{"misspelt in the failure policy", "- action: Ignore", "- actions: Ignore", `unknown field "spec.podFailurePolicy.rules[0].actions"`},
		{"field at the wrong level", "  parallelism: 8\n", "  parallelism: 8\n  restartPolicy: Never\n", `unknown field "spec.restartPolicy"`},
		{"repeated field", "  parallelism: 8\n", "  parallelism: 8\n  parallelism: 16\n", `"parallelism" already set`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(out), tc.old) {
				t.Fatalf("%q is not in the manifests", tc.old)
			}
			bad := []byte(strings.Replace(string(out), tc.old, tc.new, 1))
			_, err := decode(bad, true)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("strict decoding: %v, want an error with %s", err, tc.want)
			}
			if !runtime.IsStrictDecodingError(errors.Unwrap(err)) {
				t.Errorf("%v is no strict decoding error", err)
			}
			if _, err := decode(bad, false); err != nil {
				t.Errorf("lax decoding: %v; the strict error must come from strictness alone", err)
			}
		})
	}
}

func TestSpecErrors(t *testing.T) {
	base := exampleSpec()
	tests := []struct {
		name string
		edit func(*k8s.Spec)
		want []string
	}{
		{"no name", func(s *k8s.Spec) { s.Name = "" }, []string{"name: empty"}},
		{"name no DNS label", func(s *k8s.Spec) { s.Name = "Enwiki_v1" }, []string{`name: "Enwiki_v1"`}},
		{"name too long for the pods' host names", func(s *k8s.Spec) { s.Name = strings.Repeat("a", 54) }, []string{"must fit in 63 characters"}},
		{"no image", func(s *k8s.Spec) { s.Image = "" }, []string{"image: "}},
		{"no config", func(s *k8s.Spec) { s.Config = nil }, []string{"config: empty"}},
		{"config too big", func(s *k8s.Spec) { s.Config = bytes.Repeat([]byte("#\n"), 1<<19) }, []string{"more than a ConfigMap holds"}},
		{"no root", func(s *k8s.Spec) { s.Root = "" }, []string{"root: empty"}},
		{"a line break in the root", func(s *k8s.Spec) { s.Root = "s3://b/v1\nkind: Secret" }, []string{"control character"}},
		{"local root without a claim", func(s *k8s.Spec) { s.Claim = "" }, []string{"local to each pod"}},
		{"local root off the claim", func(s *k8s.Spec) { s.Root = "/out/v1" }, []string{"not on the claim"}},
		{"root beside the claim", func(s *k8s.Spec) { s.Root = "file:///data-old/v1" }, []string{"not on the claim"}},
		{"no shards", func(s *k8s.Spec) { s.Shards = 0 }, []string{"shards: 0"}},
		{"too many shards", func(s *k8s.Spec) { s.Shards = 100_001 }, []string{"shards: 100001"}},
		{"negative parallelism and retries", func(s *k8s.Spec) { s.Parallelism, s.Retries = -1, -1 }, []string{"parallelism: -1", "retries: -1"}},
		{"exit status 0 and 256", func(s *k8s.Spec) { s.NoRetry = []int32{0, 256} }, []string{"exit status 0", "exit status 256"}},
		{"bad quantities", func(s *k8s.Spec) { s.CPU, s.Memory = "four", "0" }, []string{`cpu: "four"`, `memory: "0"`}},
		{"negative wait", func(s *k8s.Spec) { s.Wait = -time.Second }, []string{"wait: -1s"}},
		{"bad secret name", func(s *k8s.Spec) { s.Secrets = []string{"LLM keys"} }, []string{`secret: "LLM keys"`}},
		{"credential as a literal", func(s *k8s.Spec) {
			s.Env = map[string]string{"MIROVERSE_LLM_API_KEY": "sk-live", "AWS_SECRET_ACCESS_KEY": "x", "OPENAI_API_TOKEN": "y"}
		}, []string{"MIROVERSE_LLM_API_KEY looks like a credential", "AWS_SECRET_ACCESS_KEY looks like", "OPENAI_API_TOKEN looks like"}},
		{"the shard index overridden", func(s *k8s.Spec) { s.Env = map[string]string{k8s.IndexEnv: "0"} }, []string{"Kubernetes' own"}},
		{"bad env name", func(s *k8s.Spec) { s.Env = map[string]string{"A-B": "1"} }, []string{`env: "A-B"`}},
		{"bad node selector", func(s *k8s.Spec) { s.NodeSelector = map[string]string{"pool": "a b"} }, []string{`value "a b" of pool`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.edit(&s)
			out, err := k8s.Manifests(s)
			if err == nil {
				t.Fatalf("no error; manifests:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "sk-live") {
				t.Errorf("error %q repeats a secret", err)
			}
		})
	}
}

// TestExample: configs/k8s/example.yaml is the package's output for the
// example spec, byte for byte (go test -update rewrites it), and its run
// config is one the pipeline loads.
func TestExample(t *testing.T) {
	out, err := k8s.Manifests(exampleSpec())
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "..", "..", "configs", "k8s", "example.yaml")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("%s differs from the manifests of the example spec (go test -update rewrites it):\n%s", golden, out)
	}
	r, err := decode(want, true)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(r.config.Data["config.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.LoadConfig(path); err != nil {
		t.Errorf("the example's run config: %v", err)
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
