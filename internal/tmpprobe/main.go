package main

import (
	"fmt"
	"io"
	"os"

	gowarc "github.com/nlnwa/gowarc/v3"
)

func main() {
	for _, f := range os.Args[1:] {
		r, err := gowarc.NewWarcFileReader(f, 0, gowarc.WithSyntaxErrorPolicy(gowarc.ErrWarn), gowarc.WithSpecViolationPolicy(gowarc.ErrWarn), gowarc.WithBlockErrorPolicy(gowarc.ErrWarn), gowarc.WithUnknownRecordTypePolicy(gowarc.ErrWarn))
		if err != nil {
			fmt.Println(f, err)
			continue
		}
		counts := map[string]int{}
		for rec, err := range r.Records() {
			if err != nil {
				fmt.Println(" err", err)
				break
			}
			w := rec.WarcRecord
			t := w.Type().String()
			counts[t]++
			uri := w.WarcHeader().Get("WARC-Target-URI")
			extra := ""
			if hb, ok := w.Block().(gowarc.HttpResponseBlock); ok {
				pr, _ := hb.PayloadBytes()
				b, _ := io.ReadAll(pr)
				extra = fmt.Sprintf("%d %s %d", hb.HttpStatusCode(), hb.HttpHeader().Get("Content-Type"), len(b))
			}
			fmt.Printf("  %d %s %s v%s %s %v\n", rec.Offset, t, uri, w.Version(), extra, rec.Validation)
			rec.Close()
		}
		fmt.Println(f, counts)
		r.Close()
	}
}
