package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
)

func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"link", `See <a href="https://x.org/guide" target="_blank">the guide</a>.`, "See the guide <https://x.org/guide>."},
		{"link single quotes", `<a href='https://h.docker.com/r/a' target='_blank'>official OCI image</a>`, "official OCI image <https://h.docker.com/r/a>"},
		{"link text is url", `<a href="https://x.org">https://x.org</a>`, "https://x.org"},
		{"paragraphs", `One.<p>Two <b>bold</b> <i>it</i> <u>u</u>.</p><p>Three</p>`, "One.\n\nTwo bold it u.\n\nThree"},
		{"br", `a<br>b<br/>c<br />d`, "a\nb\nc\nd"},
		{"heading", `<h4>Setup</h4>Do <code>this</code>.`, "Setup\n\nDo this."},
		{"list", `Steps:<ul><li>one</li><li>two</li></ul>done`, "Steps:\n\n  - one\n  - two\n\ndone"},
		{"ordered list", `<ol><li>a</li><li>b</li></ol>`, "  1. a\n  2. b"},
		{"entities", `a&nbsp;b &amp; &lt;c&gt;`, "a b & <c>"},
		{"whitespace", "a \n\t  b", "a b"},
		{"no-break spaces kept", "<h4>PKI&nbsp;&nbsp;&nbsp;<i>note</i></h4>", "PKI   note"},
		{"placeholder kept", `http://<myservername>:<UI Port>`, "http://<myservername>:<UI Port>"},
		{"unclosed tag kept", `a < b and <p`, "a < b and <p"},
		{"strong em", `<strong>x</strong> <em>y</em>`, "x y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := htmlToText(tt.in, 0); got != tt.want {
				t.Errorf("htmlToText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHTMLToTextWraps(t *testing.T) {
	in := `<p>` + strings.Repeat("word ", 40) + `</p><ul><li>` + strings.Repeat("item ", 30) + `</li></ul>`
	out := htmlToText(in, 40)
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 40 {
			t.Errorf("line longer than 40: %q", l)
		}
	}
	if !strings.Contains(out, "\n    item") {
		t.Errorf("list continuation lines are not indented under the bullet:\n%s", out)
	}
}

// Every description of the real registry renders without a tag left over
// and with each link's address.
func TestHTMLToTextRegistry(t *testing.T) {
	dir := registryDir(t)
	cat, _ := catalog.LoadDir(dir)
	if cat.Len() == 0 {
		t.Fatal("empty registry")
	}
	for _, def := range cat.All() {
		for _, src := range []string{def.Description, def.MoreInfo} {
			out := htmlToText(src, 78)
			for _, tag := range []string{"<p>", "</p>", "<a ", "</a>", "<br", "<b>", "<li>", "<h4>", "<code>", "target="} {
				if strings.Contains(out, tag) {
					t.Errorf("%s: %q left in:\n%s", def.Name, tag, out)
				}
			}
			for _, m := range hrefRE.FindAllStringSubmatch(src, -1) {
				href := strings.TrimSuffix(m[1], "/")
				if !strings.Contains(out, href) {
					t.Errorf("%s: link %s lost:\n%s", def.Name, href, out)
				}
			}
		}
	}
}

var hrefRE = regexp.MustCompile(`href=["']?([^"' >]+)`)
