// The page's logic lives in logic/profile.js (plain JS, required by node's tests too).
Page(require('../../logic/profile.js'))
