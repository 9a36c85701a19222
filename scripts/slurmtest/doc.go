// Package slurmtest checks the one-node Slurm cluster of scripts/slurm the
// way batch runs use a data cluster: job arrays with their task ids, a job
// that depends on an array (afterok), and requeued tasks that still finish
// (scontrol requeue of a running task, and a task that exits with the
// configured RequeueExit code). It holds only tests, which run when
// SLURM_CONF is set (scripts/slurm start prints it), are skipped when it is
// not, and fail then under CI=true.
package slurmtest
