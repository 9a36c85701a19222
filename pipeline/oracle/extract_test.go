package oracle

import (
	"encoding/json"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/miroverse/miroverse/internal/llm"
	"github.com/miroverse/miroverse/trajectory/toolset"
)

const curiePage = `# Marie Curie

Marie Curie was a Polish and naturalised-French physicist and chemist. She was born in Warsaw in 1867.
She studied at the Flying University in Warsaw. In 1891 she moved to Paris. She married Pierre Curie in 1895.

## Research

Curie discovered polonium and radium. She won the Nobel Prize in Physics in 1903.
The Curie family lived in Sceaux near Paris. Dr. Smith visited the lab in 1910. She died in 1934.`

func TestExtract(t *testing.T) {
	tests := []struct {
		name, info, page, want string
	}{
		{
			name: "best overlapping sentences in page order",
			info: "Facts about Warsaw that connect it to the next step of the question.",
			page: curiePage,
			want: "She was born in Warsaw in 1867. She studied at the Flying University in Warsaw.",
		},
		{
			name: "more shared words rank first, at most five sentences",
			info: "alpha, beta and gamma",
			page: "Alpha one. Alpha beta two. Alpha beta gamma three. Beta four. Gamma five. Alpha six. Beta gamma seven.",
			want: "Alpha one. Alpha beta two. Alpha beta gamma three. Beta four. Beta gamma seven.",
		},
		{
			name: "whole question as info",
			info: "Which Nobel Prize in Physics did she win, and whom was she married to in Paris?",
			page: curiePage,
			want: "In 1891 she moved to Paris. She married Pierre Curie in 1895. She won the Nobel Prize in Physics in 1903. " +
				"The Curie family lived in Sceaux near Paris.",
		},
		{
			name: "plural and singular meet",
			info: "the element discoveries: radium",
			page: curiePage,
			want: "Curie discovered polonium and radium.",
		},
		{
			name: "abbreviations do not split sentences",
			info: "who visited the lab",
			page: curiePage,
			want: "Dr. Smith visited the lab in 1910.",
		},
		{
			name: "no overlap gives the opening sentences",
			info: "Facts about volcanoes",
			page: curiePage,
			want: "Marie Curie was a Polish and naturalised-French physicist and chemist. She was born in Warsaw in 1867.",
		},
		{
			name: "request words alone do not match",
			info: "Facts and information relevant to the next step of the question",
			page: "The next step was taken. A fact is a fact. Here is information.",
			want: "The next step was taken. A fact is a fact.",
		},
		{
			name: "empty page",
			info: "anything",
			page: "  \n## Only a heading\n",
			want: "The page has no text.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := extract(tc.info, tc.page); got != tc.want {
				t.Errorf("extract:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestExtractorOverHTTP sends a prompt built the way the scrape tool builds
// it, page headings included, through the production client.
func TestExtractorOverHTTP(t *testing.T) {
	s := startOracle(t, Config{})
	c := client(s, llm.RoleExtractor)
	prompt := toolset.ExtractorPrompt("Facts about radium", curiePage)
	req := openai.ChatCompletionRequest{Messages: []openai.ChatCompletionMessage{{Role: "user", Content: prompt}}}
	rep, err := c.Chat(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Curie discovered polonium and radium."; rep.Message.Content != want {
		t.Errorf("extractor reply %q, want %q", rep.Message.Content, want)
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := post(t, s, llm.RoleExtractor, body), post(t, s, llm.RoleExtractor, body); string(a) != string(b) {
		t.Errorf("same request, different replies")
	}
	if strings.Contains(rep.Message.Content, "##") {
		t.Errorf("reply carries page headings: %q", rep.Message.Content)
	}
}
