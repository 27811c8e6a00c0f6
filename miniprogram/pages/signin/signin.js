// The page's logic lives in logic/signin.js (plain JS, required by node's tests too).
Page(require('../../logic/signin.js'))
