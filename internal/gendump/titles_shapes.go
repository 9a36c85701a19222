package gendump

import "strings"

// Title shapes. A shape adds English words or a qualifier around the two
// name words of the core; it never drops one, so titles stay unique (see
// titles.go). The shape of an article also fixes its subtype (a "Lake …"
// is a lake), so that the title, the lead and the infobox agree.

var (
	personQualifiers = []string{"politician", "writer", "painter", "composer", "footballer", "physicist"}
	placeSubtypes    = []string{"settlement", "settlement", "region", "river", "lake", "mountain", "town"}
	orgSubtypes      = []string{"company", "university", "club", "party", "band"}
	eventSubtypes    = []string{"battle", "treaty", "election", "festival", "siege"}
	workSubtypes     = []string{"album", "film", "species", "novel", "song"}
)

// articleTitle is the title of article index i (any kind).
func (g *gen) articleTitle(i int64) string {
	w1, w2 := g.core(spaceArticle, i)
	switch g.articleKind(i) {
	case kindDab:
		return w1 + " " + w2 + " (disambiguation)"
	case kindList:
		return "List of " + typePlural[g.typeOf(i)] + " of " + w1 + " " + w2
	}
	h := g.hash(i, 0x7368617065)
	ty := g.typeOf(i)
	sub := g.subtype(i, ty)
	switch ty {
	case typePerson:
		switch h % 20 {
		case 0, 1, 2:
			return w1 + " " + w2 + " (" + personQualifiers[h/20%uint64(len(personQualifiers))] + ")"
		case 3, 4, 5:
			return w1 + " " + g.v.names[h/20%nameWords][:1] + ". " + w2
		}
		return w1 + " " + w2
	case typePlace:
		switch sub {
		case "river":
			return w1 + " " + w2 + " River"
		case "lake":
			return "Lake " + w1 + " " + w2
		case "mountain":
			return "Mount " + w1 + " " + w2
		case "town":
			return w1 + ", " + w2
		}
		return w1 + " " + w2
	case typeOrg:
		switch sub {
		case "company":
			if h%3 == 0 {
				return w1 + " & " + w2
			}
			return w1 + " " + w2 + " Company"
		case "university":
			return "University of " + w1 + " " + w2
		case "club":
			return w1 + " " + w2 + " F.C."
		case "party":
			return w1 + " " + w2 + " Party"
		}
		return w1 + " " + w2 + " (band)"
	case typeEvent:
		switch sub {
		case "battle":
			return "Battle of " + w1 + " " + w2
		case "treaty":
			return "Treaty of " + w1 + " " + w2
		case "election":
			return itoa(g.year(i)) + " " + w1 + " " + w2 + " election"
		case "festival":
			return w1 + " " + w2 + " Festival"
		}
		return "Siege of " + w1 + " " + w2
	}
	switch sub {
	case "species":
		return w1 + " " + strings.ToLower(w2)
	case "novel":
		return "The " + w1 + " " + w2
	}
	return w1 + " " + w2 + " (" + sub + ")"
}

var typePlural = [numTypes]string{"people", "places", "organisations", "events", "works"}

// subtype is the kind of person, place, organisation, event or work.
func (g *gen) subtype(i int64, ty atype) string {
	h := g.hash(i, 0x7375627479)
	switch ty {
	case typePerson:
		return occupations[h%uint64(len(occupations))]
	case typePlace:
		return placeSubtypes[h%uint64(len(placeSubtypes))]
	case typeOrg:
		return orgSubtypes[h%uint64(len(orgSubtypes))]
	case typeEvent:
		return eventSubtypes[h%uint64(len(eventSubtypes))]
	}
	return workSubtypes[h%uint64(len(workSubtypes))]
}

// year is the year an article is about (a birth, a founding, a battle).
func (g *gen) year(i int64) int { return 1650 + int(g.hash(i, 0x79656172)%360) }

// redirectTitle is the title of redirect j: another name. Its words keep
// their order (a shape that swapped them, "W2, W1", could meet a town's
// "W1, W2" of the swapped pair).
func (g *gen) redirectTitle(j int64) string {
	w1, w2 := g.core(spaceRedirect, j)
	if h := g.hash(j, 0x7274); h%6 == 0 {
		return w1 + " " + w2 + " (" + workSubtypes[h/6%uint64(len(workSubtypes))] + ")"
	}
	return w1 + " " + w2
}

// missingTitle is the title of red link m: a page nobody wrote.
func (g *gen) missingTitle(m int64) string {
	w1, w2 := g.core(spaceMissing, m)
	if g.hash(m, 0x6d)%4 == 0 {
		return w1 + " " + w2 + " (" + placeSubtypes[g.hash(m, 2)%uint64(len(placeSubtypes))] + ")"
	}
	return w1 + " " + w2
}

// region is the place that names topic t's categories.
func (g *gen) region(t int64) string {
	w1, w2 := g.core(spaceOther, t)
	return w1 + " " + w2
}

// categories of article i: the topic's, by type and subtype, and the year
// categories people and foundings have.
func (g *gen) categories(i int64) []string {
	t := g.topicOf(i)
	r := g.region(t)
	ty := g.typeOf(i)
	sub := g.subtype(i, ty)
	y := g.year(i)
	switch ty {
	case typePerson:
		cats := []string{"People from " + r, r + " " + sub + "s", itoa(y) + " births"}
		if d := g.deathYear(i); d > 0 {
			cats = append(cats, itoa(d)+" deaths")
		} else {
			cats = append(cats, "Living people")
		}
		return cats
	case typePlace:
		switch sub {
		case "river":
			return []string{"Rivers of " + r}
		case "lake":
			return []string{"Lakes of " + r}
		case "mountain":
			return []string{"Mountains of " + r}
		case "region":
			return []string{"Regions of " + r}
		}
		return []string{"Populated places in " + r, "Towns in " + r}
	case typeOrg:
		switch sub {
		case "university":
			return []string{"Universities in " + r, "Educational institutions established in " + itoa(y)}
		case "club":
			return []string{"Football clubs in " + r, "Association football clubs established in " + itoa(y)}
		case "party":
			return []string{"Political parties in " + r}
		case "band":
			return []string{"Musical groups from " + r}
		}
		return []string{"Companies based in " + r, "Companies established in " + itoa(y)}
	case typeEvent:
		switch sub {
		case "battle", "siege":
			return []string{"Battles involving " + r, itoa(y) + " in " + r}
		case "treaty":
			return []string{"Treaties of " + r}
		case "election":
			return []string{"Elections in " + r}
		}
		return []string{"Festivals in " + r}
	}
	switch sub {
	case "species":
		return []string{"Species described in " + itoa(y), "Fauna of " + r}
	case "film":
		return []string{itoa(y%100+1920) + " films", "Films set in " + r}
	case "novel":
		return []string{"Novels set in " + r}
	}
	return []string{"Music of " + r}
}

// deathYear is 0 for the living.
func (g *gen) deathYear(i int64) int {
	y := g.year(i)
	d := y + 30 + int(g.hash(i, 0x64656174)%60)
	if d > 2024 {
		return 0
	}
	return d
}

var occupations = []string{"politician", "writer", "painter", "composer", "footballer", "physicist", "actor",
	"singer", "architect", "historian", "poet", "engineer", "mathematician", "philosopher", "chemist"}
