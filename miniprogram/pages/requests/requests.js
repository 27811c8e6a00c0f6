// The page's logic lives in logic/requests.js (plain JS, required by node's tests too).
Page(require('../../logic/requests.js'))
