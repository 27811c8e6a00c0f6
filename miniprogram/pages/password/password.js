// The page's logic lives in logic/password.js (plain JS, required by node's tests too).
Page(require('../../logic/password.js'))
