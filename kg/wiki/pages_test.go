package wiki

import (
	"fmt"
	"testing"

	"github.com/miroverse/miroverse/kg"
)

func TestPagesSort(t *testing.T) {
	var s Pages
	tests := []struct {
		name string
		page Page
		want Entry
	}{
		{"article", Page{ID: 1, Title: "Rome"}, Entry{Doc: kg.Doc{ID: "1"}}},
		{"redirect", Page{ID: 2, Title: "roma", Redirect: "rome"}, Entry{Skip: SkipRedirect, Redirect: kg.Redirect{From: "Roma", To: "Rome"}}},
		{"talk page", Page{ID: 3, NS: 1, Title: "Talk:Rome"}, Entry{Skip: SkipNamespace}},
		{"repeated id", Page{ID: 1, Title: "Rome again"}, Entry{Skip: SkipDuplicateID}},
		{"repeated id of a redirect", Page{ID: 2, Title: "Urbs", Redirect: "Rome"}, Entry{Skip: SkipDuplicateID}},
		{"a large id", Page{ID: 1 << 20, Title: "Far"}, Entry{Doc: kg.Doc{ID: "1048576"}}},
	}
	for _, tc := range tests {
		doc := kg.Doc{}
		if IsArticle(tc.page) {
			doc.ID = fmt.Sprint(tc.page.ID)
		}
		got := s.Sort(tc.page, doc, nil)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: Sort = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
