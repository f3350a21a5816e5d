from guichet.banking.views import accounts, beneficiaries, exports, transfers

app_name = "banking"
urlpatterns = accounts.urlpatterns + beneficiaries.urlpatterns + transfers.urlpatterns + exports.urlpatterns
