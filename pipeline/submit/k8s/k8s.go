// Package k8s writes the Kubernetes manifests that run the pipeline as N
// shards: a ConfigMap with the run config, an Indexed Job whose pods each run
// `miroverse run --shards N` (a pod's shard is the JOB_COMPLETION_INDEX that
// Kubernetes gives it), and a Job that runs `miroverse commit --wait` for the
// global steps once every shard's output is in the root.
//
// Kubernetes has no dependency between Jobs, so the commit Job is applied with
// the shards and waits for them itself, by reading the output root (see
// configs/k8s/README.md for the options and why this one). Its pods need no
// access to the Kubernetes API, so none is given to them.
package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Spec is one sharded run. Zero values mean what their comment says; the
// example in configs/k8s/ shows a filled one.
type Spec struct {
	Name           string            // the run: prefix of the objects' names, label app.kubernetes.io/instance (a DNS label)
	Namespace      string            // "": the namespace kubectl's context gives
	Image          string            // a container image with miroverse on its PATH
	Config         []byte            // the run config (YAML), mounted at ConfigPath
	Root           string            // the output root: s3://, gs://, or a path under ClaimPath when Claim is set
	Claim          string            // a ReadWriteMany PersistentVolumeClaim mounted at ClaimPath: inputs, a local Root
	Shards         int32             // N: shard tasks (completions)
	Parallelism    int32             // shards running at once; 0: all of them
	Retries        int32             // retries of a failing shard (backoffLimitPerIndex), and of the commit (backoffLimit)
	NoRetry        []int32           // exit statuses (ExitConfig) that fail a shard at once (FailIndex), and the commit Job (FailJob)
	CPU, Memory    string            // requests and limits of every pod, e.g. "4" and "16Gi"; "": unset
	Wait           time.Duration     // longest the commit Job may wait for the shards and commit; 0: no limit
	ServiceAccount string            // "": the namespace's default
	Secrets        []string          // Secrets whose keys become environment variables (API keys, storage credentials)
	Env            map[string]string // plain variables (MIROVERSE_*, AWS_REGION); credential-like names are refused
	NodeSelector   map[string]string
	Tolerations    []corev1.Toleration
}

const (
	ConfigPath     = "/config/config.yaml"  // where the pods read the run config
	ClaimPath      = "/data"                // where Claim is mounted
	CachePath      = "/cache"               // the pod's cache dir (an emptyDir): its local state
	CacheEnv       = "MIROVERSE_CACHE_DIR"  // names the cache dir to miroverse (pipeline.CacheEnv)
	IndexEnv       = "JOB_COMPLETION_INDEX" // set by Kubernetes in each pod of an Indexed Job: the pod's shard
	DefaultRetries = 3                      // what the example and the CLI use for Retries
	// ExitConfig is the status for a bad config or command line, which no
	// retry mends: EX_CONFIG of sysexits.h. Not 2, which is Go's for a panic
	// and for the runtime's fatal errors, some of which a retry survives.
	ExitConfig = 78
)

// container is the name of the one container in every pod; the exit-status
// rules of the failure policies are restricted to it, so that an injected
// sidecar's exit does not count.
const container = "miroverse"

// Manifests returns the run's objects as one multi-document YAML for
// kubectl apply -f: the ConfigMap, the shard Job and the commit Job, each
// with a comment saying what it is.
func Manifests(s Spec) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	shards := strconv.Itoa(int(s.Shards))
	parallel := s.Parallelism
	if parallel == 0 {
		parallel = s.Shards
	}
	docs := []struct {
		comment string
		obj     any
	}{
		{fmt.Sprintf("The run config, read by every pod at %s. Immutable: a changed config is a new run name.", ConfigPath),
			s.configMap()},
		{fmt.Sprintf("%s shards, %d at a time; a pod's shard is its %s. Evictions and preemptions are retried\n"+
			"without counting; other failures count against %d retries per shard%s.",
			shards, parallel, IndexEnv, s.Retries, s.noRetryNote()),
			s.shardJob(parallel)},
		{"The global steps. Applied with the shards, it waits (--wait) until every shard's output is in the root,\n" +
			"then commits" + s.waitLimit() + ". Apply it after the shards instead to keep its pod off the cluster meanwhile.",
			s.commitJob()},
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# miroverse run %q: %s shards into %s. Apply with: kubectl apply -f FILE\n", s.Name, shards, s.Root)
	for _, d := range docs {
		b, err := marshal(d.obj)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		for line := range strings.SplitSeq(d.comment, "\n") {
			out.WriteString("# " + line + "\n")
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

func (s Spec) noRetryNote() string {
	if len(s.NoRetry) == 0 {
		return ""
	}
	var codes []string
	for _, c := range s.noRetry() {
		codes = append(codes, strconv.Itoa(int(c)))
	}
	return "; exit status " + strings.Join(codes, ", ") + " fails the shard at once"
}

// noRetry is NoRetry sorted, each status once, as Kubernetes wants the
// values of an exit-code rule.
func (s Spec) noRetry() []int32 {
	codes := slices.Clone(s.NoRetry)
	slices.Sort(codes)
	return slices.Compact(codes)
}

func (s Spec) waitLimit() string {
	if s.Wait == 0 {
		return ""
	}
	return " (within " + s.Wait.String() + ", or the Job fails)"
}

// marshal writes an object as YAML without its empty status, which a
// manifest has no business carrying.
func marshal(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	return yaml.Marshal(m)
}

func (s Spec) labels(component string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "miroverse",
		"app.kubernetes.io/instance":  s.Name,
		"app.kubernetes.io/component": component,
	}
}

func (s Spec) meta(suffix, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: s.Name + "-" + suffix, Namespace: s.Namespace, Labels: s.labels(component)}
}

func (s Spec) configMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: s.meta("config", "config"),
		Immutable:  ptr(true),
		Data:       map[string]string{path.Base(ConfigPath): string(s.Config)},
	}
}

func (s Spec) shardJob(parallel int32) *batchv1.Job {
	args := []string{"run", "--config", ConfigPath, "--out", s.Root, "--shards", strconv.Itoa(int(s.Shards))}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: s.meta("shards", "shard"),
		Spec: batchv1.JobSpec{
			CompletionMode:       ptr(batchv1.IndexedCompletion),
			Completions:          ptr(s.Shards),
			Parallelism:          ptr(parallel),
			BackoffLimitPerIndex: ptr(s.Retries),
			PodFailurePolicy:     s.failurePolicy(batchv1.PodFailurePolicyActionFailIndex),
			// The replacement of a failed pod waits until the old one is
			// marked failed (the only value a pod failure policy allows; set
			// to be read). A pod on a partitioned node may still run after
			// that, so a shard's journal, not this, keeps two writers apart.
			PodReplacementPolicy: ptr(batchv1.Failed),
			Template:             s.pod("shard", args),
		},
	}
}

func (s Spec) commitJob() *batchv1.Job {
	args := []string{"commit", "--out", s.Root, "--shards", strconv.Itoa(int(s.Shards)), "--wait"}
	job := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: s.meta("commit", "commit"),
		Spec: batchv1.JobSpec{
			Completions:          ptr(int32(1)),
			Parallelism:          ptr(int32(1)),
			BackoffLimit:         ptr(s.Retries),
			PodFailurePolicy:     s.failurePolicy(batchv1.PodFailurePolicyActionFailJob),
			PodReplacementPolicy: ptr(batchv1.Failed),
			Template:             s.pod("commit", args),
		},
	}
	if s.Wait > 0 {
		job.Spec.ActiveDeadlineSeconds = ptr(int64((s.Wait + time.Second - 1) / time.Second))
	}
	return job
}

// failurePolicy: a pod that Kubernetes took away (eviction, preemption, node
// drain: the DisruptionTarget condition) is replaced without counting, first,
// whatever status its process exited with when stopped; then an exit status
// of NoRetry ends the shard (or the commit) at once.
func (s Spec) failurePolicy(fatal batchv1.PodFailurePolicyAction) *batchv1.PodFailurePolicy {
	rules := []batchv1.PodFailurePolicyRule{{
		Action:          batchv1.PodFailurePolicyActionIgnore,
		OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
	}}
	if len(s.NoRetry) > 0 {
		rules = append(rules, batchv1.PodFailurePolicyRule{
			Action: fatal,
			OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
				ContainerName: ptr(container),
				Operator:      batchv1.PodFailurePolicyOnExitCodesOpIn,
				Values:        s.noRetry(),
			},
		})
	}
	return &batchv1.PodFailurePolicy{Rules: rules}
}

func (s Spec) pod(component string, args []string) corev1.PodTemplateSpec {
	c := corev1.Container{
		Name:    container,
		Image:   s.Image,
		Command: []string{"miroverse"},
		Args:    args,
		VolumeMounts: []corev1.VolumeMount{
			{Name: "config", MountPath: path.Dir(ConfigPath), ReadOnly: true},
			{Name: "cache", MountPath: CachePath},
		},
		// The pod's local state (state.db, its copy of the embedded graph):
		// only a cache, since the checkpoints live in the root.
		Env:             []corev1.EnvVar{{Name: CacheEnv, Value: CachePath}},
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false)},
	}
	for _, name := range s.Secrets {
		c.EnvFrom = append(c.EnvFrom, corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name},
		}})
	}
	for _, k := range sortedKeys(s.Env) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: s.Env[k]})
	}
	if s.CPU != "" || s.Memory != "" {
		c.Resources.Requests = corev1.ResourceList{}
		if s.CPU != "" {
			c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(s.CPU)
		}
		if s.Memory != "" {
			c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse(s.Memory)
		}
		// Limits equal to the requests: the pods are in the Guaranteed QoS
		// class (the last a node under pressure evicts), and the memory limit
		// is the one number the config's memory_budget is sized against.
		c.Resources.Limits = c.Resources.Requests.DeepCopy()
	}
	volumes := []corev1.Volume{{
		Name: "config",
		VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: s.Name + "-config"},
		}},
	}, {
		Name:         "cache",
		VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
	}}
	if s.Claim != "" {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: ClaimPath})
		volumes = append(volumes, corev1.Volume{
			Name:         "data",
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.Claim}},
		})
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: s.labels(component)},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: s.ServiceAccount,
			// The pods read the root and the config, never the cluster's API.
			AutomountServiceAccountToken: ptr(false),
			NodeSelector:                 s.NodeSelector,
			Tolerations:                  s.Tolerations,
			Containers:                   []corev1.Container{c},
			Volumes:                      volumes,
		},
	}
}

// maxShards is what Kubernetes accepts as completions of an Indexed Job
// with a per-index backoff limit and no maxFailedIndexes.
const maxShards = 100_000

// check says everything wrong with the spec at once, as Kubernetes would
// only later and one object at a time.
func (s Spec) check() error {
	var errs []error
	bad := func(field string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if s.Name == "" {
		bad("name", "empty: the run needs a name")
	} else {
		for _, msg := range content.IsDNS1123Label(s.Name) {
			bad("name", "%q: %s", s.Name, msg)
		}
	}
	// An Indexed Job's pods are named after the Job and their index, and
	// the Job's name is a label value of each pod: 63 characters at most.
	if longest := s.Name + "-shards-" + strconv.Itoa(int(max(s.Shards, 1)-1)); len(longest) > 63 {
		bad("name", "%q is too long: a pod's host name %q must fit in 63 characters", s.Name, longest)
	}
	if s.Namespace != "" {
		for _, msg := range content.IsDNS1123Label(s.Namespace) {
			bad("namespace", "%q: %s", s.Namespace, msg)
		}
	}
	if s.Image == "" || strings.ContainsFunc(s.Image, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		bad("image", "%q: want an image reference", s.Image)
	}
	switch {
	case len(s.Config) == 0:
		bad("config", "empty: the pods need the run config")
	case !utf8.Valid(s.Config):
		bad("config", "not UTF-8 text")
	case len(s.Config) > 1<<20-4096: // a ConfigMap holds at most 1 MiB, its metadata included
		bad("config", "%d bytes: more than a ConfigMap holds", len(s.Config))
	}
	s.checkRoot(bad)
	if s.Shards < 1 || s.Shards > maxShards {
		bad("shards", "%d: want 1 to %d", s.Shards, maxShards)
	}
	if s.Parallelism < 0 {
		bad("parallelism", "%d: want 0 (all shards) or more", s.Parallelism)
	}
	if s.Retries < 0 {
		bad("retries", "%d: want 0 or more", s.Retries)
	}
	if len(s.NoRetry) > 255 {
		bad("no-retry", "%d statuses: at most 255", len(s.NoRetry))
	}
	for _, code := range s.NoRetry {
		if code < 1 || code > 255 {
			bad("no-retry", "exit status %d: want 1 to 255", code)
		}
	}
	for _, r := range []struct{ field, q string }{{"cpu", s.CPU}, {"memory", s.Memory}} {
		field, q := r.field, r.q
		if q == "" {
			continue
		}
		if v, err := resource.ParseQuantity(q); err != nil {
			bad(field, "%q: %v", q, err)
		} else if v.Sign() <= 0 {
			bad(field, "%q: want more than 0", q)
		}
	}
	if s.Wait < 0 {
		bad("wait", "%v: want 0 (no limit) or more", s.Wait)
	}
	if s.ServiceAccount != "" {
		for _, msg := range content.IsDNS1123Subdomain(s.ServiceAccount) {
			bad("service-account", "%q: %s", s.ServiceAccount, msg)
		}
	}
	for _, name := range s.Secrets {
		for _, msg := range content.IsDNS1123Subdomain(name) {
			bad("secret", "%q: %s", name, msg)
		}
	}
	for _, k := range sortedKeys(s.Env) {
		switch {
		case len(content.IsCIdentifier(k)) > 0:
			bad("env", "%q: want a name of letters, digits and _", k)
		case k == IndexEnv:
			bad("env", "%s is Kubernetes' own: it tells each pod its shard", k)
		case credentialLike(k):
			bad("env", "%s looks like a credential: put it in a Secret and name the Secret instead", k)
		}
	}
	for _, k := range sortedKeys(s.NodeSelector) {
		for _, msg := range content.IsLabelKey(k) {
			bad("node-selector", "key %q: %s", k, msg)
		}
		for _, msg := range content.IsLabelValue(s.NodeSelector[k]) {
			bad("node-selector", "value %q of %s: %s", s.NodeSelector[k], k, msg)
		}
	}
	return errors.Join(errs...)
}

// checkRoot: shards on different nodes write one root, so a local one must
// be on the shared volume; anything else would end with each pod's
// output in its own container's file system, lost with it.
func (s Spec) checkRoot(bad func(string, string, ...any)) {
	if s.Root == "" {
		bad("root", "empty: the shards need an output root")
		return
	}
	if strings.ContainsFunc(s.Root, unicode.IsControl) {
		bad("root", "%q holds a control character", s.Root)
		return
	}
	local, isLocal := strings.CutPrefix(s.Root, "file://")
	if !isLocal && strings.Contains(s.Root, "://") {
		return // object storage: reached over the network, credentials from Secrets
	}
	if s.Claim == "" {
		bad("root", "%q is local to each pod: name a ReadWriteMany claim, or use object storage", s.Root)
		return
	}
	if p := path.Clean(local); p != ClaimPath && !strings.HasPrefix(p, ClaimPath+"/") {
		bad("root", "%q is not on the claim mounted at %s", s.Root, ClaimPath)
	}
	for _, msg := range content.IsDNS1123Subdomain(s.Claim) {
		bad("claim", "%q: %s", s.Claim, msg)
	}
}

// credentialLike says whether a variable's name says it holds a secret.
func credentialLike(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func ptr[T any](v T) *T { return &v }
