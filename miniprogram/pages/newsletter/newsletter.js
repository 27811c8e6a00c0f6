// The page's logic lives in logic/newsletter.js (plain JS, required by node's tests too).
Page(require('../../logic/newsletter.js'))
