from guichet.documents.views import activation, customer_numbers, documents, sharing

app_name = "documents"
urlpatterns = (
    documents.urlpatterns + activation.urlpatterns + sharing.urlpatterns + customer_numbers.urlpatterns
)
