// The widget's one element in the page, created by the first chunk that has
// something to show: a host appended to <body> with a shadow root, holding a
// fixed-position frame that every visible part mounts in. Fixed position
// means nothing in the page moves when it appears; the shadow root keeps the
// theme's styles out and ours in.
//
// The file drawn before any interaction (chunks/visible.js) is built apart
// from the chunks fetched later, and each build has its own copy of this
// module; so the frame is looked up in the page, where there is only one.

/* global __REVISIT_BASE_CSS__ */
// css: the caller's own styles, in the frame's first style element when it
// creates the frame (one style sheet for the browser to set up instead of
// two), added beside it otherwise.
export function widgetFrame(context, css = '') {
  const found = document.querySelector('revisit-widget');
  // The shadow root holds our style elements, then the frame, last.
  let frame = found && found.shadowRoot && found.shadowRoot.lastElementChild;
  if (!frame) {
    const host = document.createElement('revisit-widget');
    // Inline !important beats any theme rule, even `* {... !important}`, and
    // all: initial stops the theme's inherited font and colours at the door.
    host.style.cssText = 'all:initial!important;display:contents!important';
    const shadow = host.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = __REVISIT_BASE_CSS__ + css;
    frame = document.createElement('div');
    frame.className = context.config.position == 'bottom-left' ? 'w l' : 'w';
    shadow.append(style, frame);
    document.body.append(host);
  } else if (css) {
    addStyles(frame, css);
  }
  return frame;
}

// Adds a chunk's own styles to the shadow root, once.
export function addStyles(frame, css) {
  const style = document.createElement('style');
  style.textContent = css;
  frame.before(style);
}
