// Package trajectory holds what every part of the synthesize, judge and
// export stages shares: the record of a rollout (Rollout, Message, Call)
// and the protocol it is written in: tool and server names, the tool-result
// markers and limits, the MCP-in-text format, and recency-based retention.
//
// The parts themselves sit below it: react runs the agent loop, toolset
// the tools it calls, verdict judges the rollouts and export turns them
// into SFT and DPO rows. They import this package and, downward, each
// other (react → toolset), never the reverse.
package trajectory
