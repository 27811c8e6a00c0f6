// The page's logic lives in logic/quotes.js (plain JS, required by node's tests too).
Page(require('../../logic/quotes.js'))
