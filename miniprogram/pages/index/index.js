// The page's logic lives in logic/index.js (plain JS, required by node's tests too).
Page(require('../../logic/index.js'))
