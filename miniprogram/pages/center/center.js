// The page's logic lives in logic/center.js (plain JS, required by node's tests too).
Page(require('../../logic/center.js'))
