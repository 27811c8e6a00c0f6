// Where the Mini Program finds the site's API. Point `baseUrl` at your site (its domain must be
// on the Mini Program's "request" and "uploadFile"/"downloadFile" allow-lists in mp.weixin.qq.com).
module.exports = {
  baseUrl: 'https://www.xometry.asia/api/mp/v1',
}
