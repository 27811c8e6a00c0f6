// The page's logic lives in logic/upload.js (plain JS, required by node's tests too).
Page(require('../../logic/upload.js'))
