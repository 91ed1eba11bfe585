/* course-reader.js: added to every page by book/_ext/course_pages.py.
 *
 * 1. A box that scrolls sideways (wide inline math, a table) must be reachable from
 *    the keyboard, or a reader without a mouse cannot see what is cut off (WCAG 2.1.1,
 *    axe scrollable-region-focusable). Each such box that really overflows at the
 *    current width becomes a tab stop; one that no longer overflows stops being one.
 *    (pydata-sphinx-theme does the same for code blocks and cell outputs.) Math is
 *    checked again once MathJax has typeset it.
 * 2. Widgets are drawn in the page by the ipywidgets HTML manager after it loads:
 *    its sliders get the name their visible label shows (axe aria-input-field-name),
 *    and a figure a widget draws gets the alt text its code cell gives (`fig-alt`,
 *    written into the page by the extension as .course-widget-alt).
 */
(function () {
  "use strict";
  var SCROLL_BOXES = "span.math, .course-table-scroll, .pst-scrollable-table-container";

  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]:not([tabindex='-1'])";

  // "Table 2 (scrolls sideways)": landmarks on one page need distinct names (axe landmark-unique)
  function regionName(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim() + " (scrolls sideways)";
    var isMath = box.matches("span.math");
    var kind = isMath ? "Formula" : "Table";
    var same = Array.prototype.filter.call(document.querySelectorAll(SCROLL_BOXES), function (b) {
      return b.matches("span.math") === isMath;
    });
    return kind + " " + (same.indexOf(box) + 1) + " (scrolls sideways)";
  }

  function updateScrollBoxes() {
    document.querySelectorAll(SCROLL_BOXES).forEach(function (box) {
      var overflows = box.scrollWidth > box.clientWidth + 1;
      var ours = box.dataset.courseScroll === "1";
      if (overflows && !ours && !box.hasAttribute("tabindex") && !box.querySelector(FOCUSABLE)) {
        // a named region: a screen reader says what the focused box is (axe focus-order-semantics)
        box.setAttribute("tabindex", "0");
        if (!box.hasAttribute("role")) {
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", regionName(box));
          box.dataset.courseRole = "1";
        }
        box.classList.add("course-scroll-focus");
        box.dataset.courseScroll = "1";
      } else if (!overflows && ours) {
        box.removeAttribute("tabindex");
        if (box.dataset.courseRole === "1") {
          box.removeAttribute("role");
          box.removeAttribute("aria-label");
          delete box.dataset.courseRole;
        }
        box.classList.remove("course-scroll-focus");
        delete box.dataset.courseScroll;
      }
    });
  }

  function widgetAlts(cell) {
    var holder = cell && cell.querySelector(".course-widget-alt");
    if (!holder) return null;
    try {
      return JSON.parse(holder.getAttribute("data-alt"));
    } catch (e) {
      return null;
    }
  }

  function nameWidgets() {
    document.querySelectorAll("[role=slider]").forEach(function (slider) {
      if (slider.getAttribute("aria-label") || slider.getAttribute("aria-labelledby")) return;
      var widget = slider.closest(".widget-slider, .widget-hslider, .widget-vslider, .jupyter-widgets");
      var label = widget && widget.querySelector(".widget-label");
      var text = label && label.textContent.trim();
      if (text) slider.setAttribute("aria-label", text);
    });
    document.querySelectorAll(".cell").forEach(function (cell) {
      var images = cell.querySelectorAll(".jupyter-widgets img, .widget-output img, .jp-RenderedImage img");
      if (!images.length) return;
      var alts = widgetAlts(cell);
      images.forEach(function (img, i) {
        if (img.getAttribute("alt")) return;
        var alt = typeof alts === "string" ? alts : Array.isArray(alts) ? alts[i] : null;
        if (alt) {
          img.setAttribute("alt", alt);
        } else {
          // The chapter gives no alt text (listed in _build/figures-without-alt.txt):
          // say at least what the image is, and mark it for the browser tests.
          img.setAttribute("alt", "Figure drawn by the interactive widget (no description yet)");
          img.dataset.courseAltMissing = "1";
        }
      });
    });
  }

  var pending = null;
  function later() {
    if (pending) window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      pending = null;
      updateScrollBoxes();
      nameWidgets();
    }, 100);
  }

  function start() {
    updateScrollBoxes();
    nameWidgets();
    window.addEventListener("resize", later);
    window.addEventListener("load", function () {
      later();
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        MathJax.startup.promise.then(later);
      }
    });
    if (document.querySelector('script[type="application/vnd.jupyter.widget-view+json"]') && window.MutationObserver) {
      new MutationObserver(later).observe(document.body, { childList: true, subtree: true });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
