// Catalog descriptions are HTML written by whoever publishes a definition:
// untrusted. They are reduced to a small set of formatting tags, links keep
// only an http(s) href, and nothing else (no attributes, scripts, styles,
// event handlers, forms, frames, images) survives. DOMPurify parses with the
// browser's own parser, which is what makes an allow-list reliable.
import DOMPurify from "dompurify";

const TAGS = ["p", "br", "b", "strong", "i", "em", "u", "code", "pre", "ul", "ol", "li", "a", "span", "small", "h4", "h5"];

const purify = DOMPurify();
// Set once: a configuration passed with each call is parsed again each time.
purify.setConfig({ ALLOWED_TAGS: TAGS, ALLOWED_ATTR: ["href"], ALLOW_DATA_ATTR: false, ALLOW_ARIA_ATTR: false });
purify.addHook("afterSanitizeAttributes", node => {
    if (node.tagName !== "A")
        return;
    const href = node.getAttribute("href") || "";
    if (!/^https?:\/\//i.test(href))
        node.removeAttribute("href");
    else {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
    }
});

export function sanitize(html) {
    html = html || "";
    // Text without markup or entities needs no parser; only escaping, which
    // the caller's text rendering does not do for innerHTML: do it here.
    if (!/[<&>]/.test(html))
        return html.replace(/"/g, "&quot;");
    return purify.sanitize(html);
}

// safeURL returns url when it is http(s), else "" (a definition's website).
export function safeURL(url) {
    return /^https?:\/\/[^\s]+$/i.test(url || "") ? url : "";
}
