package text

import "strings"

// Stem cuts the commonest English inflections off a folded word ("films" →
// "film", "founded" → "found", "studies" → "studi", "running" → "run"), so
// that two wordings of one question meet on the same terms. It is a light
// suffix stripper, not Porter: retrieval only needs the forms of a word to
// agree with each other, not to be dictionary words, and a rule that stays
// small is one the contamination gate and the oracle can share exactly.
func Stem(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "i"
	case n > 5 && strings.HasSuffix(w, "ing"):
		return undouble(w[:n-3])
	case n > 4 && strings.HasSuffix(w, "ed"):
		return undouble(w[:n-2])
	case n > 4 && strings.HasSuffix(w, "es") && strings.ContainsAny(w[n-3:n-2], "sxz"):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:n-1]
	}
	return w
}

// undouble drops one of a doubled final consonant left by a cut suffix
// ("runn" → "run", "stopp" → "stop"), so the stem meets the bare verb.
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsAny(w[n-1:], "aeiouls") {
		return w[:n-1]
	}
	return w
}

// stopWords are the function words of English questions: they carry a
// question's grammar, not what it asks about.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the of in on at to for from by with as into onto about over under
and or but nor so than then that this these those there here is are was were be been being am do does did
has have had having it its it's he she they them their his her him we us our you your i me my
what which who whom whose when where why how whether if not no yes also both either neither same
can could would should will shall may might must one ones s`) {
		m[w] = true
	}
	return m
}()

// IsStopWord reports whether a folded word is an English function word.
func IsStopWord(w string) bool { return stopWords[w] }

// ContentWords are the stemmed words of s that are not function words, in
// order, after FoldText: the terms two wordings of one question share.
func ContentWords(s string) []string {
	var out []string
	for _, w := range strings.Fields(FoldText(s)) {
		if !stopWords[w] {
			out = append(out, Stem(w))
		}
	}
	return out
}
