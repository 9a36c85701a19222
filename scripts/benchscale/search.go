package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/miroverse/miroverse/pipeline"
	"github.com/miroverse/miroverse/trajectory"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

// searchWarmup calls are made before the timed ones and not counted: the
// first calls of a process pay for opening the store and its caches.
const searchWarmup = 20

// searchResult is what the search child prints.
type searchResult struct {
	Calls int     `json:"calls"`
	P50   float64 `json:"p50_s"`
	P99   float64 `json:"p99_s"`
	Mean  float64 `json:"mean_s"`
	Max   float64 `json:"max_s"`
	// ExactFirst is the share of the queries that are a document's title
	// as it is whose first result is that document: the ranking the tests
	// hold.
	ExactFirst float64 `json:"exact_title_first"`
	Errors     int     `json:"errors"`
	RSS        int64   `json:"rss"`
}

// runSearchChild times google_search as the agent calls it: one tool
// session of toolset.Toolset over the root's graph, opened as `tools run`
// and the synthesize stage open it (pipeline.OpenGraph), each call
// returning the Serper-shaped JSON the model reads.
func runSearchChild(ctx context.Context, root, queryFile string) error {
	raw, err := os.ReadFile(queryFile)
	if err != nil {
		return err
	}
	queries := strings.Split(strings.TrimSpace(string(raw)), "\n")
	st, err := pipeline.OpenGraph(ctx, pipeline.DefaultConfig(), root)
	if err != nil {
		return err
	}
	defer st.Close()
	sess := toolset.New(st, nil).Open()
	defer sess.Close()
	var res searchResult
	var lat []float64
	exact, exactFirst := 0, 0
	for i, q := range queries {
		args, err := json.Marshal(map[string]string{"q": q})
		if err != nil {
			return err
		}
		start := time.Now()
		out := sess.Call(ctx, trajectory.ToolGoogleSearch, string(args))
		d := time.Since(start).Seconds()
		if strings.HasPrefix(out, trajectory.ToolErrorPrefix) {
			res.Errors++
			continue
		}
		if i < searchWarmup {
			continue
		}
		lat = append(lat, d)
		// drawQueries leaves every fourth title as it is; a redirect's
		// title leads to its target, so only a document's own counts.
		if d, err := st.DocByTitle(ctx, q); i%4 == 0 && err == nil && d.Title == q {
			exact++
			var serp struct {
				Organic []struct {
					Title string `json:"title"`
				} `json:"organic"`
			}
			if json.Unmarshal([]byte(out), &serp) == nil && len(serp.Organic) > 0 && serp.Organic[0].Title == q {
				exactFirst++
			}
		}
	}
	if len(lat) == 0 {
		return fmt.Errorf("no timed search call (%d errors)", res.Errors)
	}
	slices.Sort(lat)
	res.Calls = len(lat)
	res.P50 = quantile(lat, 0.50)
	res.P99 = quantile(lat, 0.99)
	res.Max = lat[len(lat)-1]
	for _, v := range lat {
		res.Mean += v / float64(len(lat))
	}
	if exact > 0 {
		res.ExactFirst = float64(exactFirst) / float64(exact)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
