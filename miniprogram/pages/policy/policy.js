// The page's logic lives in logic/policy.js (plain JS, required by node's tests too).
Page(require('../../logic/policy.js'))
