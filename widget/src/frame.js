// The widget's one element in the page, created by the first chunk that has
// something to show: a host appended to <body> with a shadow root, holding a
// fixed-position frame that every visible part mounts in. Fixed position
// means nothing in the page moves when it appears; the shadow root keeps the
// theme's styles out and ours in.

/* global __REVISIT_BASE_CSS__ */
let frame = null;

export function widgetFrame(context) {
  if (!frame) {
    const host = document.createElement('revisit-widget');
    // Inline !important beats any theme rule, even `* {... !important}`, and
    // all: initial stops the theme's inherited font and colours at the door.
    host.style.cssText = 'all:initial!important;display:contents!important';
    const shadow = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = __REVISIT_BASE_CSS__;
    frame = document.createElement('div');
    frame.className = context.config.position == 'bottom-left' ? 'w l' : 'w';
    shadow.append(style, frame);
    document.body.append(host);
  }
  return frame;
}

// Adds a chunk's own styles to the shadow root, once.
export function addStyles(frame, css) {
  const style = document.createElement('style');
  style.textContent = css;
  frame.before(style);
}
