// The page's logic lives in logic/addresses.js (plain JS, required by node's tests too).
Page(require('../../logic/addresses.js'))
