package pipeline

import (
	"errors"
	"fmt"

	"github.com/miroverse/miroverse/pipeline/submit/slurm"
)

// SlurmConfig is what `submit --engine slurm` asks the cluster for, for
// each shard task and for the commit job. Zero values leave Slurm's (or the
// partition's) defaults. No stage reads it, so it is in no stage's
// fingerprint: changing it changes the manifest's config_hash only.
type SlurmConfig struct {
	// Partition is sbatch's --partition (several may be given, comma-separated).
	Partition string `yaml:"partition" json:"partition"`
	// Time is the time limit of each job, in Slurm's forms: "90" (minutes),
	// "12:00:00", "2-00:00:00".
	Time string `yaml:"time" json:"time"`
	// CPUsPerTask is sbatch's --cpus-per-task; 0 leaves it unset.
	CPUsPerTask int `yaml:"cpus_per_task" json:"cpus_per_task"`
	// Mem is sbatch's --mem, the memory of each job: "16G" (K, M, G, T;
	// no unit means megabytes). memory_budget must fit in it.
	Mem string `yaml:"mem" json:"mem"`
	// Extra are further sbatch options, each written as an "#SBATCH <line>"
	// line of both jobs, e.g. "--account=proj".
	Extra []string `yaml:"extra" json:"extra,omitempty"`
}

// Resources are the section as the Slurm engine takes it.
func (c SlurmConfig) Resources() slurm.Resources {
	return slurm.Resources{Partition: c.Partition, Time: c.Time, CPUsPerTask: c.CPUsPerTask, Mem: c.Mem, Extra: c.Extra}
}

// check applies the engine's rules, so that a bad value fails when the
// config is read, not at submission; each fault is named by its key.
func (c SlurmConfig) check() error {
	err := c.Resources().Check()
	if err == nil {
		return nil
	}
	faults := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		faults = j.Unwrap()
	}
	var errs []error
	for _, e := range faults {
		errs = append(errs, fmt.Errorf("slurm.%w", e))
	}
	return errors.Join(errs...)
}
